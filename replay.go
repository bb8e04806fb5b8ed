package funcauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers accepted messages for their verifier's window, to
// refuse them when they come again. It holds at most max entries, of a
// fixed size whatever the message, and partitions them: each verifier may
// fill only its share of max, and each key within a verifier only its
// share of that (see Guard.replayShares), so whoever holds one key can fill
// that key's share and no more, and a genuine message under another key or
// verifier still finds room. When a share is full of unexpired entries the
// cache refuses new messages in it rather than forget one and let it be
// replayed.
//
// Its maps and queues hold no pointers, so the garbage collector does not
// scan them.
type replayCache struct {
	mu     sync.Mutex
	seen   map[replayKey]replayEntry
	queues map[queueKey]*expiryQueue
	max    int

	// partitions are the (verifier, key) pairs, by index; partitionIndex
	// finds them. Their number is bounded by the keys that verify.
	partitions     []replayPartition
	partitionIndex map[string]int
	verifiers      map[string]*int // entries per verifier, which its partitions count in
}

// replayKey is the fixed-size digest of a verifier's message id.
type replayKey [16]byte

type replayEntry struct {
	expires   int64 // unix nanoseconds
	partition int32
}

type replayPartition struct {
	verifier string
	entries  int
	// counted is the entries of the verifier (in c.verifiers).
	counted *int
	// queue is the partition's expiry queue for window (also in
	// c.queues): the one its messages take unless its verifier's window
	// changed with a configuration. nil until the first message.
	queue  *expiryQueue
	window time.Duration
}

// queueKey names the queue of one partition and window.
type queueKey struct {
	partition int
	window    time.Duration
}

// expiryQueue holds the digests added with one window, so in expiry order.
type expiryQueue struct {
	entries []queued
	head    int
}

type queued struct {
	key     replayKey
	expires int64
}

func newReplayCache(max int) *replayCache {
	return &replayCache{
		seen:           make(map[replayKey]replayEntry),
		queues:         make(map[queueKey]*expiryQueue),
		max:            max,
		partitionIndex: make(map[string]int),
		verifiers:      make(map[string]*int),
	}
}

// replayQuota is how much room the messages of a verifier may take:
// verifierMax entries for the verifier, keyMax for each of its keys.
type replayQuota struct {
	verifier    string
	verifierMax int
	keyMax      int
}

// checkReplay records id under q, in the partition of q's verifier and
// the key that verified it, and reports ReasonReplayed when the verifier
// already recorded it within the window, ReasonReplayCacheFull when its
// share has no room, and "" for a new message, with the partition and
// digest that forget takes. retry is when room frees up.
//
// (The path of a new message makes few calls and holds few temporaries:
// under Yaegi each call costs a frame of them. The rarer cases, a new
// partition, a full share, an entry expired but not yet dropped, are
// calls of their own.)
func checkReplay(c *replayCache, q *replayQuota, key, id string, window time.Duration, now time.Time) (Reason, time.Duration, int, replayKey) {
	var digest replayKey
	sum := sha256.Sum256([]byte(q.verifier + "\x00" + id))
	copy(digest[:], sum[:])
	t := now.UnixNano()
	c.mu.Lock()
	e, seen := c.seen[digest]
	if seen && t < e.expires {
		c.mu.Unlock()
		return ReasonReplayed, 0, 0, digest
	}
	p, known := c.partitionIndex[q.verifier+"\x00"+key]
	if !known {
		p = c.addPartition(q.verifier, key)
	}
	part := &c.partitions[p]
	if len(c.seen) >= c.max || part.entries >= q.keyMax || *part.counted >= q.verifierMax {
		if retry := c.makeRoom(p, q, t); retry > 0 {
			c.mu.Unlock()
			return ReasonReplayCacheFull, retry, 0, digest
		}
	}
	queue := part.queue
	if queue == nil || part.window != window || queue.head < len(queue.entries) && t >= queue.entries[queue.head].expires || seen {
		queue = c.prepare(p, window, t, digest)
	}
	exp := t + int64(window)
	c.seen[digest] = replayEntry{expires: exp, partition: int32(p)}
	part.entries++
	*part.counted++
	queue.entries = append(queue.entries, queued{key: digest, expires: exp})
	c.mu.Unlock()
	return "", 0, p, digest
}

// makeRoom drops the expired entries of a cache whose partition p, its
// verifier or the whole has no room for q, and returns 0 when room was
// made, else how long until some frees up. c.mu is held.
func (c *replayCache) makeRoom(p int, q *replayQuota, t int64) time.Duration {
	c.expire(t)
	if c.full(p, q) {
		return c.nextExpiry(p, t)
	}
	return 0
}

// prepare returns the expiry queue of partition p and window, made if
// new and made the partition's, with its expired entries popped, and
// drops digest's own entry if it expired without being popped yet. c.mu
// is held.
func (c *replayCache) prepare(p int, window time.Duration, t int64, digest replayKey) *expiryQueue {
	qk := queueKey{partition: p, window: window}
	queue := c.queues[qk]
	if queue == nil {
		queue = &expiryQueue{}
		c.queues[qk] = queue
	}
	part := &c.partitions[p]
	part.queue, part.window = queue, window
	c.popExpired(queue, t)
	if old, ok := c.seen[digest]; ok {
		c.drop(digest, old) // expired, not yet popped
	}
	return queue
}

// full reports whether partition p, its verifier or the whole cache has no
// room left.
func (c *replayCache) full(p int, q *replayQuota) bool {
	return len(c.seen) >= c.max || c.partitions[p].entries >= q.keyMax || *c.partitions[p].counted >= q.verifierMax
}

// addPartition adds the (verifier, key) partition and returns its index.
func (c *replayCache) addPartition(verifier, key string) int {
	p := len(c.partitions)
	counted := c.verifiers[verifier]
	if counted == nil {
		counted = new(int)
		c.verifiers[verifier] = counted
	}
	c.partitions = append(c.partitions, replayPartition{verifier: verifier, counted: counted})
	c.partitionIndex[verifier+"\x00"+key] = p
	return p
}

// forget drops a message, so that it is accepted again.
func (c *replayCache) forget(p int, digest replayKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.seen[digest]; ok && int(e.partition) == p {
		c.drop(digest, e)
	}
}

// drop removes an entry and gives its room back to its partition.
func (c *replayCache) drop(digest replayKey, e replayEntry) {
	delete(c.seen, digest)
	part := &c.partitions[e.partition]
	part.entries--
	*part.counted--
}

// expire drops every entry whose window has passed.
func (c *replayCache) expire(t int64) {
	for k, q := range c.queues {
		c.popExpired(q, t)
		if q.head == len(q.entries) {
			delete(c.queues, k)
			if part := &c.partitions[k.partition]; part.queue == q {
				part.queue = nil
			}
		}
	}
}

// popExpired drops the expired entries at the head of a queue (each
// insert pops what has expired, so a queue never outgrows the live
// entries by much) and compacts it.
func (c *replayCache) popExpired(q *expiryQueue, t int64) {
	for q.head < len(q.entries) && t >= q.entries[q.head].expires {
		d := q.entries[q.head].key
		if e, ok := c.seen[d]; ok && t >= e.expires {
			c.drop(d, e)
		}
		q.head++
	}
	if q.head > 0 && q.head >= len(q.entries)/2 {
		q.entries = append([]queued(nil), q.entries[q.head:]...)
		q.head = 0
	}
}

// nextExpiry is how long until partition p, or failing that the cache,
// has room again (at least a second).
func (c *replayCache) nextExpiry(p int, t int64) time.Duration {
	next := int64(-1)
	for k, q := range c.queues {
		if k.partition == p && q.head < len(q.entries) {
			if d := q.entries[q.head].expires - t; next < 0 || d < next {
				next = d
			}
		}
	}
	if next < 0 {
		for _, q := range c.queues {
			if q.head < len(q.entries) {
				if d := q.entries[q.head].expires - t; next < 0 || d < next {
					next = d
				}
			}
		}
	}
	retry := time.Duration(next)
	if retry < time.Second {
		retry = time.Second
	}
	return retry
}

// keyScope is the function the key that verified belongs to, if it is a
// per-function key.
func keyScope(keys []key, keyID string) string {
	for _, k := range keys {
		if k.id == keyID {
			return k.scope
		}
	}
	return ""
}
