package traefik

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Under Yaegi, a large signed body reaches the upstream through the
// core's chunkBody (its chunks from the pools, reused body after body):
// every body intact, with several in flight at once, and the upstream
// reading it before and after it closes, as http.Transport may.
func TestLargeBodiesFromPooledChunksUnderYaegi(t *testing.T) {
	p := loaded(t)
	var mu sync.Mutex
	var problems []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		r.Body.Close()
		// Only the core's chunkBody refuses a read after Close.
		_, afterClose := r.Body.Read(make([]byte, 1))
		if want := r.Header.Get("X-Want"); err != nil || len(got) == 0 || strconv.Itoa(len(got)) != want || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) || afterClose != http.ErrBodyReadAfterClose {
			mu.Lock()
			problems = append(problems, "read "+strconv.Itoa(len(got))+" bytes of "+want+" (a mixed body, or not from chunkBody: after Close, "+fmt.Sprint(afterClose)+")")
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
