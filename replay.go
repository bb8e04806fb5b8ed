package funcauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers accepted messages (by id, nonce or signature) for
// their verifier's window, to refuse them when they come again. It holds at
// most max entries, of a fixed 16 bytes each whatever the id's length; when
// it is full of unexpired entries it refuses new messages rather than
// forget one and let it be replayed.
type replayCache struct {
	mu     sync.Mutex
	seen   map[string]time.Time // digest -> expiry
	queues map[time.Duration]*expiryQueue
	max    int
}

// expiryQueue holds the digests added with one window, so in expiry order.
type expiryQueue struct {
	digests []string
	expires []time.Time
	head    int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{seen: make(map[string]time.Time), queues: make(map[time.Duration]*expiryQueue), max: max}
}

// check records id for verifier and reports ReasonReplayed when it was
// already recorded within the window, ReasonReplayCacheFull when there is
// no room, and "" for a new message. retry is when room frees up.
func (c *replayCache) check(verifier, id string, window time.Duration, now time.Time) (reason Reason, retry time.Duration) {
	digest := replayDigest(verifier, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[digest]; ok && now.Before(exp) {
		return ReasonReplayed, 0
	}
	if len(c.seen) >= c.max {
		c.expire(now)
	}
	if len(c.seen) >= c.max {
		return ReasonReplayCacheFull, c.nextExpiry(now)
	}
	q := c.queues[window]
	if q == nil {
		q = &expiryQueue{}
		c.queues[window] = q
	}
	c.popExpired(q, now)
	exp := now.Add(window)
	c.seen[digest] = exp
	q.digests = append(q.digests, digest)
	q.expires = append(q.expires, exp)
	return "", 0
}

// replayDigest is the fixed-size key of a message.
func replayDigest(verifier, id string) string {
	sum := sha256.Sum256([]byte(verifier + "\x00" + id))
	return string(sum[:16])
}

// forget drops a message, so that it is accepted again.
func (c *replayCache) forget(verifier, id string) {
	digest := replayDigest(verifier, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, digest)
}

// expire drops every entry whose window has passed.
func (c *replayCache) expire(now time.Time) {
	for window, q := range c.queues {
		c.popExpired(q, now)
		if q.head == len(q.digests) {
			delete(c.queues, window)
		}
	}
}

// popExpired drops the expired entries at the head of a queue (each
// insert pops what has expired, so a queue never outgrows the live
// entries by much) and compacts it.
func (c *replayCache) popExpired(q *expiryQueue, now time.Time) {
	for q.head < len(q.digests) && !now.Before(q.expires[q.head]) {
		d := q.digests[q.head]
		if exp, ok := c.seen[d]; ok && !now.Before(exp) {
			delete(c.seen, d)
		}
		q.digests[q.head] = ""
		q.head++
	}
	if q.head > 0 && q.head >= len(q.digests)/2 {
		q.digests = append([]string(nil), q.digests[q.head:]...)
		q.expires = append([]time.Time(nil), q.expires[q.head:]...)
		q.head = 0
	}
}

func (c *replayCache) nextExpiry(now time.Time) time.Duration {
	var next time.Duration = -1
	for _, q := range c.queues {
		if q.head < len(q.expires) {
			if d := q.expires[q.head].Sub(now); next < 0 || d < next {
				next = d
			}
		}
	}
	if next < time.Second {
		next = time.Second
	}
	return next
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
