package funcauth

import (
	"strconv"
	"time"
)

// The store's operations. Each returns the command (or script call) to put
// in a request's single pipeline and reads its reply, so that a request
// makes at most one round trip whatever it needs (sharedStore.exec).

// failScript counts a failure of a key within a window and bans the key
// when the count reaches the limit. KEYS: count, ban, and the key's
// checks in flight when this failure ends one the fleet admitted
// (admitScript). ARGV: limit, window in ms, ban duration in ms, the
// check's token. Returns {count, ms of ban left}.
var failScript = newStoreScript(`
if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[4]) end
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
`, -1, 4)

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
`, 1, 4)

// admitScript admits a password check for the whole fleet, before its
// hash, for one or two scopes (the client group, and the user name when
// its lockout applies). A scope is refused when it is banned, or when its
// failures in the window and its checks in flight reach its limit: the
// concurrency rule of the failure tables, for every replica at once. An
// admitted check is held in each scope's sorted set of checks in flight,
// scored by when its lease ends, until failScript counts it or a release
// (releaseCommand) ends it; a lease that ends (a replica that crashed
// mid-check) frees its place by itself. KEYS: for each scope its count,
// ban and checks in flight. ARGV: now in ms, the lease's end in ms, the
// lease in ms, the check's token, then each scope's limit. Returns {0, 0,
// 0} when admitted, {1, scope, ms of ban left} for a ban, {2, scope, 0}
// when the scope's budget is spent (scopes count from 1).
var admitScript = newStoreScript(`
local scopes = #KEYS / 3
for i = 1, scopes do
  local left = redis.call('PTTL', KEYS[3*i-1])
  if left > 0 then return {1, i, left} end
end
for i = 1, scopes do
  local held = KEYS[3*i]
  redis.call('ZREMRANGEBYSCORE', held, '-inf', ARGV[1])
  local failures = tonumber(redis.call('GET', KEYS[3*i-2]) or '0')
  if failures + redis.call('ZCARD', held) >= tonumber(ARGV[4+i]) then return {2, i, 0} end
end
for i = 1, scopes do
  redis.call('ZADD', KEYS[3*i], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[3*i], ARGV[3])
end
return {0, 0, 0}
`, -1, -1)

// fleetCheckLease is how long a password check the fleet admitted counts
// as in flight at most. Hashes take well under a second; the lease only
// matters for a replica that dies mid-check, whose checks would otherwise
// hold their places for ever.
const fleetCheckLease = 10 * time.Second

// admitCommand admits a check for the scopes whose keys (count, ban, in
// flight for each) and limits it is given, holding it under token.
func (s *sharedStore) admitCommand(keys []string, limits []int, token string, now time.Time) string {
	ms := now.UnixNano() / int64(time.Millisecond)
	lease := durationMillis(fleetCheckLease)
	args := make([]string, 0, 4+len(limits))
	args = append(args, strconv.FormatInt(ms, 10), strconv.FormatInt(ms+lease, 10), strconv.FormatInt(lease, 10), token)
	for _, l := range limits {
		args = append(args, strconv.Itoa(l))
	}
	return admitScript.command(keys, args...)
}

// admitted reads the reply of admitCommand: outcome 0 (admitted), 1
// (scope is banned for left) or 2 (scope's budget is spent).
func admitted(r respValue) (outcome, scope int, left time.Duration, ok bool) {
	if r.kind != '*' || len(r.elems) != 3 {
		return 0, 0, 0, false
	}
	return int(r.elems[0].num), int(r.elems[1].num), time.Duration(r.elems[2].num) * time.Millisecond, true
}

// releaseCommand ends an admitted check that did not fail.
func (s *sharedStore) releaseCommand(held, token string) string {
	return respCommand("ZREM", held, token)
}

// forgetCommand drops a remembered message.
func (s *sharedStore) forgetCommand(key string) string { return respCommand("DEL", key) }

// forget drops a remembered message now, in a call of its own (see exec):
// a claim whose request was refused after all, or whose upstream failed.
func (s *sharedStore) forget(key string, now time.Time) { s.exec([]string{s.forgetCommand(key)}, now) }

// failCommand counts a failure and bans at the limit; held and token
// name the check in flight it ends, if the fleet admitted one.
func (s *sharedStore) failCommand(countKey, banKey, held, token string, limit int, window, duration time.Duration) string {
	keys := []string{countKey, banKey}
	if held != "" {
		keys = append(keys, held)
	}
	return failScript.command(keys,
		strconv.Itoa(limit), strconv.FormatInt(durationMillis(window), 10), strconv.FormatInt(durationMillis(duration), 10), token)
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
func (s *sharedStore) takeCommand(key string, now time.Time, perSecond, burst float64) string {
	perMs := perSecond / 1000
	idle := time.Duration(burst/perSecond*float64(time.Second)) + time.Second
	return bucketScript.fixed + respBulk(key) +
		respBulk(strconv.FormatInt(now.UnixNano()/int64(time.Millisecond), 10)) +
		respBulk(strconv.FormatFloat(perMs, 'g', -1, 64)) +
		respBulk(strconv.FormatFloat(burst, 'g', -1, 64)) +
		respBulk(strconv.FormatInt(durationMillis(idle), 10))
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
