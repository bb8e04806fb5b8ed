package funcauth

import (
	"strconv"
	"sync"
	"time"
)

// rateLimit is a compiled RateLimit.
type rateLimit struct {
	name      string
	key       string // client, function, user, global
	path      *pathPattern
	perSecond float64
	burst     float64
	table     *bucketTable
}

func compileRateLimits(cfgs []RateLimit, state *abuseState) ([]*rateLimit, error) {
	var limits []*rateLimit
	for i, cfg := range cfgs {
		field := "rate_limits[" + strconv.Itoa(i) + "]"
		l := &rateLimit{name: cfg.Name, key: cfg.Key}
		if l.name == "" {
			l.name = field
		}
		switch l.key {
		case "":
			l.key = "client"
		case "client", "function", "user", "global":
		default:
			return nil, fieldError(field+".key", "unknown key "+strconv.Quote(cfg.Key)+": use client, function, user or global")
		}
		if cfg.Path != "" {
			p, err := compilePathPattern(cfg.Path)
			if err != nil {
				return nil, fieldError(field+".path", err.Error())
			}
			l.path = p
		}
		if cfg.Rate == "" {
			return nil, fieldError(field+".rate", "is empty: give a rate such as 10/s or 100/1m")
		}
		n, per, err := parseRate(cfg.Rate)
		if err != nil {
			return nil, fieldError(field+".rate", err.Error())
		}
		l.perSecond = float64(n) / per.Seconds()
		l.burst = float64(n)
		if cfg.Burst < 0 {
			return nil, fieldError(field+".burst", "must be positive")
		}
		if cfg.Burst > 0 {
			l.burst = float64(cfg.Burst)
		}
		if cfg.MaxEntries < 0 {
			return nil, fieldError(field+".max_entries", "must be positive")
		}
		l.table = state.limiterTable(l.tableID(), cfg.MaxEntries)
		limits = append(limits, l)
	}
	return limits, nil
}

// bucketTable holds token buckets by key, at most max of them. When full, a
// bucket that has refilled (which is the same as no bucket) makes room, or
// else the one idle longest among a few sampled.
type bucketTable struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	max     int
}

type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill
}

func newBucketTable(max int) *bucketTable {
	return &bucketTable{buckets: make(map[string]*bucket), max: max}
}

// take takes a token from key's bucket, or says how long until one is there.
func (t *bucketTable) take(key string, now time.Time, perSecond, burst float64) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := now.UnixNano()
	b := t.buckets[key]
	if b == nil {
		if len(t.buckets) >= t.max {
			t.evict(n, perSecond, burst)
		}
		b = &bucket{tokens: burst, last: n}
		t.buckets[key] = b
	}
	if elapsed := float64(n-b.last) / 1e9; elapsed > 0 {
		b.tokens += elapsed * perSecond
		if b.tokens > burst {
			b.tokens = burst
		}
		b.last = n
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / perSecond * 1e9)
	return false, wait
}

func (t *bucketTable) evict(now int64, perSecond, burst float64) {
	victim, found := "", false
	var oldest int64
	seen := 0
	for k, b := range t.buckets {
		if b.tokens+float64(now-b.last)/1e9*perSecond >= burst {
			victim, found = k, true
			break
		}
		if !found || b.last < oldest {
			victim, oldest, found = k, b.last, true
		}
		seen++
		if seen >= evictionSample {
			break
		}
	}
	if found {
		delete(t.buckets, victim)
	}
}

// tableID names the bucket table of a rate limit in a State: its name
// (rate_limits[i] when it has none) and key, so that its buckets outlive
// an edit of its rate or of other rate limits.
func (l *rateLimit) tableID() string {
	return l.name + "\x00" + l.key
}

func rateLimitTableID(cfg RateLimit, i int) string {
	l := &rateLimit{name: cfg.Name, key: cfg.Key}
	if l.name == "" {
		l.name = "rate_limits[" + strconv.Itoa(i) + "]"
	}
	if l.key == "" {
		l.key = "client"
	}
	return l.tableID()
}
