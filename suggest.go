package funcauth

import "strings"

// suggestion returns ` (did you mean "x"?)` for the candidate closest to
// name, case aside, when one is close enough to be a slip of the keyboard
// (at most two edits, or one for short names), and "" otherwise.
func suggestion(name string, candidates []string) string {
	best, bestDistance := "", 3
	lower := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c))
		if d < bestDistance && (d <= 1 || len(c) > 4) {
			best, bestDistance = c, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

// Suggestion is suggestion for the hosts' own parsers (the Caddyfile's
// subdirectives), so that every "did you mean" follows one rule.
func Suggestion(name string, candidates []string) string { return suggestion(name, candidates) }

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := prev[j] + 1
			if cur[j-1]+1 < v {
				v = cur[j-1] + 1
			}
			if prev[j-1]+cost < v {
				v = prev[j-1] + cost
			}
			cur[j] = v
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
