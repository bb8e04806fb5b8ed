package traefik

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Under Yaegi, a large signed body reaches the upstream through the
// core's chunkBody (its chunks from the pools, reused body after body):
// every body intact, with several in flight at once, and the upstream
// reading it after a Close, as a retry after a failed dial does.
func TestLargeBodiesFromPooledChunksUnderYaegi(t *testing.T) {
	p := loaded(t)
	var mu sync.Mutex
	var problems []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A failed dial closes the body first; the retry reads it whole.
		r.Body.Close()
		got, err := io.ReadAll(r.Body)
		r.Body.Close()
		// The standard library's readers are io's types; the core's
		// chunkBody reaches compiled code as Yaegi's wrapper.
		kind := fmt.Sprintf("%T", r.Body)
		if want := r.Header.Get("X-Want"); err != nil || len(got) == 0 || strconv.Itoa(len(got)) != want || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) || strings.HasPrefix(kind, "io.") {
			mu.Lock()
			problems = append(problems, "read "+strconv.Itoa(len(got))+" bytes of "+want+" (or a mixed body) through "+kind)
			mu.Unlock()
		}
	})
	h, err := p.NewMiddleware(context.Background(), next, signedFunctions(nil), "large-bodies@file")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		s := s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				body := bytes.Repeat([]byte{byte('a' + s*5 + i)}, 200000+i*1000)
				r := faasSigned(body)
				r.Header.Set("X-Want", strconv.Itoa(len(body)))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					mu.Lock()
					problems = append(problems, "status "+strconv.Itoa(rec.Code)+": "+rec.Body.String())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
}
