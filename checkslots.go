package funcauth

import (
	"runtime"
	"sync"
)

// checkSlots bounds how many expensive password checks run at once, so
// that an attacker with many addresses, each within its ban budget, cannot
// keep every core hashing. A check that finds no free slot is refused at
// once (429 with Retry-After: 1) rather than queued: a queue would hold
// the attacker's requests and delay everyone behind them, and there is no
// goroutine to time a wait out.
type checkSlots struct {
	mu   sync.Mutex
	busy int
	max  int
}

// passwordCheckSlots is shared by every Guard of the process: the cores
// are.
var passwordCheckSlots = &checkSlots{max: defaultPasswordCheckSlots()}

// defaultPasswordCheckSlots leaves at least half the cores (rounded down)
// free of password hashing, and allows at least one check.
func defaultPasswordCheckSlots() int {
	return (runtime.GOMAXPROCS(0) + 1) / 2
}

// acquire takes a slot if one is free.
func (s *checkSlots) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy >= s.max {
		return false
	}
	s.busy++
	return true
}

// release gives a slot back.
func (s *checkSlots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy > 0 {
		s.busy--
	}
}
