package funcauth

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// stallingBody sends its head, then blocks until released, as a client
// that declared a large body and stopped sending. After release it sends
// its tail and ends.
type stallingBody struct {
	head, tail []byte
	stalled    chan struct{} // closed when the reader waits for more
	release    chan struct{}
	once       sync.Once
}

func newStallingBody(head, tail string) *stallingBody {
	return &stallingBody{head: []byte(head), tail: []byte(tail), stalled: make(chan struct{}), release: make(chan struct{})}
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if len(s.head) > 0 {
		n := copy(p, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	s.once.Do(func() { close(s.stalled) })
	<-s.release
	if len(s.tail) > 0 {
		n := copy(p, s.tail)
		s.tail = s.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

func (s *stallingBody) Close() error { return nil }

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStalledBodiesHoldLittleMemory: 200 signed requests that declare
// 256 KiB and stall after 100 bytes hold one small buffer each, not what
// Content-Length claims (issue 10, item 10: they held 57 MB).
func TestStalledBodiesHoldLittleMemory(t *testing.T) {
	const n, declared = 200, 256 << 10
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MemorySize: "256KiB"},
	}, nil)
	full := strings.Repeat("b", declared)
	bodies := make([]*stallingBody, n)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		bodies[i] = newStallingBody(full[:100], full[100:])
		r := signedRequest("/function/env", full, "k")
		r.Body = bodies[i]
		r.ContentLength = declared
		reqs[i] = r
	}
	heldBefore, heapBefore := bodyMemory.inUse(), heapInUse()
	// One after the other, so that which bodies find room is known: the
	// first ones grow to 20 KiB each and fill the budget, the others are
	// spooled.
	decisions := make([]*Decision, n)
	var wg sync.WaitGroup
	for i := range reqs {
		i := i
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			// From many addresses: one address may have no more body
			// reads in flight than bans.max_failures.
			decisions[i] = g.Check(reqs[i], fmt.Sprintf("198.18.%d.%d", i/250, i%250+1))
		}()
		select {
		case <-bodies[i].stalled:
		case <-done:
			t.Fatalf("request %d did not wait for its body: %s %s", i, decisions[i].Reason, decisions[i].Detail)
		}
	}
	held, heap := bodyMemory.inUse()-heldBefore, int64(heapInUse())-int64(heapBefore)
	t.Logf("%d stalled bodies declaring %d KiB: %d bytes reserved (%d per body), heap grew by %d KiB (%d bytes per request, goroutines included)",
		n, declared>>10, held, held/n, heap>>10, heap/n)
	if held > n*firstBodyBuffer {
		t.Errorf("%d bytes reserved for %d stalled bodies, want at most %d each", held, n, firstBodyBuffer)
	}
	if heap > n*16<<10 {
		t.Errorf("heap grew by %d KiB for %d stalled bodies", heap>>10, n)
	}
	for _, b := range bodies {
		close(b.release)
	}
	wg.Wait()
	for i, d := range decisions {
		if !d.Allowed {
			t.Fatalf("request %d: %s %s", i, d.Reason, d.Detail)
		}
		d.Close()
	}
	if left := bodyMemory.inUse() - heldBefore; left != 0 {
		t.Errorf("%d bytes still reserved after every body was closed", left)
	}
}

// TestBodyMemoryBudget: the bodies in flight together hold at most
// body.memory_budget; past it they are spooled, and with no room even
// for a read buffer the request is refused with 503.
func TestBodyMemoryBudget(t *testing.T) {
	const n, size = 8, 20 << 10
	dir := t.TempDir()
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MemorySize: "64KiB", MemoryBudget: "96KiB", TempDir: dir},
	}, nil)
	const budget = 96 << 10
	heldBefore := bodyMemory.inUse()
	full := strings.Repeat("m", size)
	bodies := make([]*stallingBody, n)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		bodies[i] = newStallingBody(full[:size-1], full[size-1:])
		reqs[i] = signedRequest("/function/env", full, "k")
		reqs[i].Body = bodies[i]
	}
	// One after the other, so that which bodies find room is known: the
	// first ones grow to 20 KiB each and fill the budget, the others are
	// spooled.
	decisions := make([]*Decision, n)
	var wg sync.WaitGroup
	for i := range reqs {
		i := i
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			// From many addresses: one address may have no more body
			// reads in flight than bans.max_failures.
			decisions[i] = g.Check(reqs[i], fmt.Sprintf("198.18.%d.%d", i/250, i%250+1))
		}()
		select {
		case <-bodies[i].stalled:
		case <-done:
			t.Fatalf("request %d did not wait for its body: %s %s", i, decisions[i].Reason, decisions[i].Detail)
		}
	}
	held := bodyMemory.inUse() - heldBefore
	t.Logf("%d bodies of %d KiB in flight under a %d KiB budget: %d KiB held", n, size>>10, budget>>10, held>>10)
	if held > budget {
		t.Errorf("%d bytes held, budget %d", held, budget)
	}
	for _, b := range bodies {
		close(b.release)
	}
	wg.Wait()
	spooled := 0
	for i, d := range decisions {
		if !d.Allowed {
			t.Fatalf("request %d: %s %s", i, d.Reason, d.Detail)
		}
		if d.body.file != nil {
			spooled++
		}
		got, _ := io.ReadAll(reqs[i].Body)
		if string(got) != full || reqs[i].ContentLength != size {
			t.Errorf("request %d: upstream gets %d bytes, Content-Length %d", i, len(got), reqs[i].ContentLength)
		}
		d.Close()
	}
	// Each body kept in memory grows to its declared 20 KiB; the budget's
	// room (what other tests' decisions left unclosed takes some) decides
	// how many.
	inMemory := int((budget - heldBefore) / size)
	if spooled != n-inMemory {
		t.Errorf("%d of %d bodies spooled, want %d: %d fill the budget", spooled, n, n-inMemory, inMemory)
	}
	if left := bodyMemory.inUse() - heldBefore; left != 0 {
		t.Errorf("%d bytes still reserved after every body was closed", left)
	}

	// With the budget spent entirely (here by the test), a body is still
	// read, through a small buffer, into a file; if no file can be made,
	// it is refused with 503.
	taken := budget - bodyMemory.inUse()
	if !bodyMemory.reserve(taken, budget) {
		t.Fatal("could not take the budget")
	}
	defer bodyMemory.release(taken)
	d := g.Check(signedRequest("/function/env", "small", "k"), "192.0.2.1")
	if !d.Allowed || d.body.file == nil {
		t.Fatalf("spent budget: %s %q, spooled %v", d.Reason, d.Detail, d.body != nil && d.body.file != nil)
	}
	d.Close()
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	d = g.Check(signedRequest("/function/env", "small", "k"), "192.0.2.1")
	if d.Reason != ReasonSpoolFailed || d.Status != http.StatusServiceUnavailable || !strings.Contains(d.Detail, "memory_budget") {
		t.Fatalf("spent budget, no temp dir: %s %d %q", d.Reason, d.Status, d.Detail)
	}
}

func TestMemoryBudgetConfig(t *testing.T) {
	for _, bad := range []string{"0", "1KiB", "lots", "-5"} {
		if _, err := compileBody(&Body{MemoryBudget: bad}); err == nil || !strings.Contains(err.Error(), "body.memory_budget") {
			t.Errorf("memory_budget %q: %v", bad, err)
		}
	}
	if b, err := compileBody(&Body{}); err != nil || b.budget != defaultBodyMemoryBudget {
		t.Fatalf("default budget %d, %v", b.budget, err)
	}
	if b, err := compileBody(&Body{MemoryBudget: "1MiB"}); err != nil || b.budget != 1<<20 {
		t.Fatalf("1MiB budget %d, %v", b.budget, err)
	}
}

// TestMemorySizeIsExact: a body of exactly body.memory_size stays in
// memory, one byte more is spooled, with or without Content-Length.
func TestMemorySizeIsExact(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MemorySize: "1KiB", TempDir: t.TempDir()},
	}, nil)
	for _, chunked := range []bool{false, true} {
		for _, size := range []int{1024, 1025} {
			body := strings.Repeat("e", size)
			r := signedRequest("/function/env", body, "k")
			if chunked {
				r.ContentLength = -1
			}
			d := g.Check(r, "192.0.2.1")
			if !d.Allowed {
				t.Fatalf("chunked %v, %d bytes: %s %s", chunked, size, d.Reason, d.Detail)
			}
			if spooled := d.body.file != nil; spooled != (size > 1024) {
				t.Errorf("chunked %v, %d bytes: spooled %v", chunked, size, spooled)
			}
			got, _ := io.ReadAll(r.Body)
			if string(got) != body || r.ContentLength != int64(size) {
				t.Errorf("chunked %v, %d bytes: upstream gets %d bytes, Content-Length %d", chunked, size, len(got), r.ContentLength)
			}
			d.Close()
		}
	}
}
