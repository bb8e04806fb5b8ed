package funcauth

import "sort"

// SensitiveHeaders returns the canonical names of the request headers that
// carry a credential under g's configuration, sorted: Authorization when
// Basic Auth is configured, and the signature or token header of every
// signature verifier (such as Hmac, X-Hub-Signature-256, X-Gitlab-Token or
// Signature). funcauth never logs them; hosts whose access logs record
// request headers must be told to leave these out.
func (g *Guard) SensitiveHeaders() []string {
	seen := make(map[string]bool)
	var names []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if g.basic != nil {
		add("Authorization")
	}
	for _, v := range g.verifiers {
		for _, name := range v.scheme.headers() {
			add(name)
		}
	}
	sort.Strings(names)
	return names
}
