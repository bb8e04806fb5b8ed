package funcauth

import (
	"strconv"
	"time"
)

// The store's operations. Each returns the command (or script call) to put
// in a request's single pipeline and reads its reply, so that a request
// makes at most one round trip whatever it needs (sharedStore.exec).

// failScript counts a failure of a key within a window and bans the key
// when the count reaches the limit. KEYS: count, ban. ARGV: limit,
// window in ms, ban duration in ms. Returns {count, ms of ban left}.
var failScript = newStoreScript(`
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {0, left} end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {n, tonumber(ARGV[3])}
end
return {n, 0}
`)

// bucketScript takes a token from a token bucket kept as a hash of tokens
// and the time of the last refill. KEYS: bucket. ARGV: now in ms, tokens
// per ms, burst, idle expiry in ms. Returns {1, 0} when a token was taken,
// {0, ms until one is there} otherwise. The time comes from the Guard's
// clock, so a replica whose clock lags cannot refill a bucket backwards.
var bucketScript = newStoreScript(`
local b = redis.call('HMGET', KEYS[1], 't', 'l')
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local t = tonumber(b[1])
local l = tonumber(b[2])
if t == nil or l == nil then t = burst; l = now end
if now > l then
  t = t + (now - l) * rate
  if t > burst then t = burst end
  l = now
end
local ok, wait = 0, 0
if t >= 1 then t = t - 1; ok = 1 else wait = math.ceil((1 - t) / rate) end
redis.call('HSET', KEYS[1], 't', tostring(t), 'l', tostring(l))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {ok, wait}
`)

// forgetCommand drops a remembered message.
func (s *sharedStore) forgetCommand(key string) []string { return []string{"DEL", key} }

// banLeftCommand asks how long a ban has left.
func (s *sharedStore) banLeftCommand(banKey string) []string { return []string{"PTTL", banKey} }

// banLeft reads the reply of banLeftCommand (0: not banned).
func banLeft(r respValue) time.Duration {
	if r.kind != ':' || r.num <= 0 {
		return 0
	}
	return time.Duration(r.num) * time.Millisecond
}

// failCommand counts a failure and bans at the limit.
func (s *sharedStore) failCommand(countKey, banKey string, limit int, window, duration time.Duration) []string {
	return failScript.command([]string{countKey, banKey},
		strconv.Itoa(limit), strconv.FormatInt(durationMillis(window), 10), strconv.FormatInt(durationMillis(duration), 10))
}

// failed reads the reply of failCommand: the failures counted so far, and
// the ban's length when this failure started one or one was on.
func failed(r respValue) (count int, banned time.Duration, ok bool) {
	if r.kind != '*' || len(r.elems) != 2 {
		return 0, 0, false
	}
	return int(r.elems[0].num), time.Duration(r.elems[1].num) * time.Millisecond, true
}

// takeCommand takes a token from a bucket.
func (s *sharedStore) takeCommand(key string, now time.Time, perSecond, burst float64) []string {
	perMs := perSecond / 1000
	idle := time.Duration(burst/perSecond*float64(time.Second)) + time.Second
	return bucketScript.command([]string{key},
		strconv.FormatInt(now.UnixNano()/int64(time.Millisecond), 10),
		strconv.FormatFloat(perMs, 'g', -1, 64),
		strconv.FormatFloat(burst, 'g', -1, 64),
		strconv.FormatInt(durationMillis(idle), 10))
}

// took reads the reply of takeCommand.
func took(r respValue) (allowed bool, wait time.Duration, ok bool) {
	if r.kind != '*' || len(r.elems) != 2 {
		return false, 0, false
	}
	return r.elems[0].num == 1, time.Duration(r.elems[1].num) * time.Millisecond, true
}

// durationMillis rounds up to whole milliseconds, at least one.
func durationMillis(d time.Duration) int64 {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	return ms
}
