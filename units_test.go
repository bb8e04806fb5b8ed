package funcauth

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"10MiB", 10 << 20, true},
		{"10 MiB", 10 << 20, true},
		{"256KiB", 256 << 10, true},
		{"1KB", 1000, true},
		{"2MB", 2000000, true},
		{"1GiB", 1 << 30, true},
		{"5b", 5, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1.5MiB", 0, false},
		{"10TiB", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999GiB", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	if d, err := parseDuration("5m"); err != nil || d != 5*time.Minute {
		t.Errorf("5m: %v %v", d, err)
	}
	for _, bad := range []string{"", "5", "-1s", "soon"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in  string
		n   int
		per time.Duration
		ok  bool
	}{
		{"10/s", 10, time.Second, true},
		{"100/1m", 100, time.Minute, true},
		{"5/10s", 5, 10 * time.Second, true},
		{"1/h", 1, time.Hour, true},
		{"10", 0, 0, false},
		{"0/s", 0, 0, false},
		{"-1/s", 0, 0, false},
		{"10/", 0, 0, false},
		{"10/0s", 0, 0, false},
		{"x/s", 0, 0, false},
	} {
		n, per, err := parseRate(tc.in)
		if (err == nil) != tc.ok || n != tc.n || per != tc.per {
			t.Errorf("parseRate(%q) = %d, %v, %v; want %d, %v, ok=%v", tc.in, n, per, err, tc.n, tc.per, tc.ok)
		}
	}
}
