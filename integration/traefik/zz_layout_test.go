//go:build frameslots

package traefik

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"
)

func TestZZFrameLayout(t *testing.T) {
	want := os.Getenv("FRAMELAYOUT")
	if want == "" {
		t.Skip()
	}
	h := benchMiddleware(t, loaded(t))
	for _, c := range benchCases()[:2] {
		serve(t, h, c.request(-1), c.want)
		interp.FrameStats(true)
		serve(t, h, c.request(1), c.want)
		interp.FrameStats(false)
	}
	for name, lines := range interp.FrameLayouts() {
		if !strings.Contains(","+want+",", ","+name+",") && want != "all" {
			continue
		}
		ls := []int{}
		total := 0
		for l, n := range lines {
			ls = append(ls, l)
			total += n
		}
		sort.Ints(ls)
		out := fmt.Sprintf("%s (%d):", name, total)
		for _, l := range ls {
			out += fmt.Sprintf(" %d:%d", l, lines[l])
		}
		t.Log(out)
	}
}
