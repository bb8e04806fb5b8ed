package funcauth

import (
	"errors"
	"strings"
	"time"
)

// Checking how the store's Redis server is set up.
//
// A Redis server can answer every command and still lose what funcauth
// keeps there, or refuse it on every request: one that evicts keys when it
// reaches maxmemory can drop a remembered message before its window ends
// (a replayed message is then accepted) or a ban before it expires; a
// read-only replica refuses every write; a cluster node answers MOVED for
// the keys other nodes hold; a Sentinel is not a Redis server at all. A
// request cannot tell the operator why, so hosts ask once, when they set a
// Guard up (Guard.CheckStore).

// storeCheckRetry is how long after a check that could not reach the
// server the next check may try again.
const storeCheckRetry = time.Minute

// CheckStore asks the Redis server of g's store, with one INFO command,
// whether it is set up to keep what funcauth stores there, and returns a
// warning for the host's log that says what is wrong and what to change,
// or "" when nothing is.
//
// It asks once per store (a store is kept across reloads while its
// settings do not change) and, while the server cannot be reached, at
// most once a minute; otherwise, and when g has no store, it returns ""
// and nil. err says why the server could not be asked: it is unreachable,
// or its ACL refuses INFO. Neither stops funcauth: an unreachable store is
// an outage like any other (see docs/replicas.md). It is one call to the
// store, which ends within the timeout as every call does, and its error
// holds no secret.
func (g *Guard) CheckStore() (warning string, err error) {
	s := g.store
	if s == nil {
		return "", nil
	}
	now := g.now()
	s.mu.Lock()
	if s.settingsChecked || now.Before(s.checkAfter) {
		s.mu.Unlock()
		return "", nil
	}
	s.checkAfter = now.Add(storeCheckRetry)
	s.mu.Unlock()
	replies, err := s.client.do([]string{respCommand("INFO")}, now)
	if err != nil {
		return "", errors.New("could not check the store's settings: " + err.Error() + " (checked again when the configuration next loads, a minute or more from now)")
	}
	s.mu.Lock()
	s.settingsChecked = true
	s.mu.Unlock()
	if r := replies[0]; r.kind != '$' {
		return "", errors.New("could not check the store's settings: INFO answered " + strings.TrimSpace(r.str) +
			": allow funcauth's Redis user +info, or make sure that the server is a writable primary with maxmemory-policy noeviction (see docs/replicas.md)")
	}
	return storeSettingsWarning(replies[0].str), nil
}

// storeSettingsWarning reads the reply of INFO and says what in the
// server's settings fails funcauth, "" for nothing.
func storeSettingsWarning(info string) string {
	mode, role := infoField(info, "redis_mode"), infoField(info, "role")
	maxmemory, policy := infoField(info, "maxmemory"), infoField(info, "maxmemory_policy")
	var problems []string
	switch mode {
	case "cluster":
		problems = append(problems, "it runs in cluster mode, which funcauth's client does not speak (commands for the keys other nodes hold fail with MOVED): use a standalone Redis, or the address of a Sentinel-managed primary")
	case "sentinel":
		problems = append(problems, "it is a Redis Sentinel, not a Redis server: give it in store.sentinel, with the name it watches the primary under, instead of store.address")
	}
	if role == "slave" || role == "replica" {
		problems = append(problems, "it is a read-only replica, which refuses every write: set store.address to the primary")
	}
	if maxmemory != "" && maxmemory != "0" && policy != "" && policy != "noeviction" {
		problems = append(problems, "it evicts keys when it reaches maxmemory ("+infoField(info, "maxmemory_human")+", maxmemory-policy "+policy+
			"), which can drop a remembered message or a ban before it expires, and a replayed message would then be accepted: set maxmemory-policy noeviction (a full Redis then refuses new entries and funcauth follows store.replay_on_error and store.bans_on_error), or give funcauth a Redis of its own with memory to spare")
	}
	if len(problems) == 0 {
		return ""
	}
	return "the store's Redis server does not keep what funcauth stores there: " + strings.Join(problems, "; ")
}

// infoField returns the value of name in a reply of INFO ("name:value"
// lines), "" when it has none.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if value, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
