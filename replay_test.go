package funcauth

import (
	"testing"
	"time"
)

func TestReplayCacheRefusesWhenFullAndExpires(t *testing.T) {
	c := newReplayCache(3)
	now := testNow
	for i, id := range []string{"a", "b", "c"} {
		if r, _ := c.check("v", id, time.Minute, now.Add(time.Duration(i)*time.Second)); r != "" {
			t.Fatalf("%s: %s", id, r)
		}
	}
	if r, _ := c.check("v", "a", time.Minute, now.Add(10*time.Second)); r != ReasonReplayed {
		t.Fatalf("replay of a: %s", r)
	}
	if r, _ := c.check("w", "a", time.Minute, now.Add(10*time.Second)); r != ReasonReplayCacheFull {
		t.Fatalf("the same id for another verifier, cache full: %s", r)
	}
	r, retry := c.check("v", "d", time.Minute, now.Add(30*time.Second))
	if r != ReasonReplayCacheFull || retry != 30*time.Second {
		t.Fatalf("full: %s, retry %v (the oldest expires at 60 s)", r, retry)
	}
	if r, _ := c.check("v", "d", time.Minute, now.Add(time.Minute)); r != "" {
		t.Fatalf("after the oldest expired: %s", r)
	}
	if r, _ := c.check("v", "a", time.Minute, now.Add(time.Minute+time.Second)); r != "" {
		t.Fatalf("a, once its window passed, is new again: %s", r)
	}
	// Windows of different lengths expire independently.
	c = newReplayCache(2)
	c.check("long", "x", time.Hour, now)
	c.check("short", "y", time.Second, now)
	if r, _ := c.check("short", "z", time.Second, now.Add(2*time.Second)); r != "" {
		t.Fatalf("the short window's entry should have made room: %s", r)
	}
	if c.len() != 2 {
		t.Fatalf("%d entries", c.len())
	}
}
