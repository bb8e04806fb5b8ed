package funcauth

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// parseSize parses a byte size: a number of bytes, or a number followed by
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty size")
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("size " + strconv.Quote(s) + " does not start with a number")
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, errors.New("size " + strconv.Quote(s) + " is out of range")
	}
	var mult int64
	switch strings.ToLower(strings.TrimSpace(s[i:])) {
	case "", "b":
		mult = 1
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "gb":
		mult = 1000 * 1000 * 1000
	case "kib", "k":
		mult = 1 << 10
	case "mib", "m":
		mult = 1 << 20
	case "gib", "g":
		mult = 1 << 30
	default:
		return 0, errors.New("size " + strconv.Quote(s) + " has an unknown unit: use B, KB, MB, GB, KiB, MiB or GiB")
	}
	if n > (1<<62)/mult {
		return 0, errors.New("size " + strconv.Quote(s) + " is out of range")
	}
	return n * mult, nil
}

// parseDuration parses a Go duration such as "300ms", "5m" or "1h30m" and
// refuses negative ones.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("duration " + strconv.Quote(s) + " is not a Go duration such as 30s, 5m or 1h")
	}
	if d < 0 {
		return 0, errors.New("duration " + strconv.Quote(s) + " is negative")
	}
	return d, nil
}

// parseRate parses "<n>/<duration>", such as "10/s", "100/1m" or "5/10s",
// into a count and the period it is spread over.
func parseRate(s string) (int, time.Duration, error) {
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return 0, 0, errors.New("rate " + strconv.Quote(s) + " is not of the form <n>/<duration>, such as 10/s or 100/1m")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[:slash]))
	if err != nil || n <= 0 {
		return 0, 0, errors.New("rate " + strconv.Quote(s) + " needs a positive count before the slash")
	}
	per := strings.TrimSpace(s[slash+1:])
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, 0, errors.New("rate " + strconv.Quote(s) + " needs a positive duration after the slash, such as s, 1m or 10s")
	}
	return n, d, nil
}
