package funcauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHandlerShowsTheDecisionsAHostActsOn: Handler's onDecision sees every
// refusal and the first decision of each second (the State is in use),
// not every allowed request.
func TestHandlerShowsTheDecisionsAHostActsOn(t *testing.T) {
	c := &clock{t: testNow}
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "/open", Require: "open"}}}, c)
	var seen []Reason
	h := g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), func(_ *http.Request, d *Decision) {
		seen = append(seen, d.Reason)
	})
	do := func(path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	do("/open")
	do("/open")
	do("/closed")
	do("/open")
	c.advance(time.Second)
	do("/open")
	want := []Reason{ReasonOpen, ReasonNoRule, ReasonOpen}
	if len(seen) != len(want) {
		t.Fatalf("seen %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("seen %v, want %v", seen, want)
		}
	}
}
