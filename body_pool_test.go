package funcauth

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// A large body held in pooled chunks reaches the upstream intact, body
// after body, while the chunks of the ones before are reused, even when
// the upstream reads it after the request has ended; and two bodies in
// flight at once never share a chunk (go test -race).
func TestPooledChunksCarryEachBodyIntact(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MaxSize: "4MiB", MemorySize: "4MiB"},
	}, nil)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				body := bytes.Repeat([]byte(strconv.Itoa(w*100+i)+"."), 200000/(len(strconv.Itoa(w*100+i))+1)+i)
				r := signedRequest("/function/env", string(body), "k")
				d := g.Check(r, "192.0.2.1")
				if !d.Allowed {
					t.Errorf("worker %d, body %d: %s (%s)", w, i, d.Reason, d.Detail)
					return
				}
				if _, ok := r.Body.(*chunkBody); !ok {
					t.Errorf("a body of %d bytes reaches the upstream as %T, not from pooled chunks", len(body), r.Body)
					return
				}
				// The request ends first, as when the handler returns
				// while http.Transport still writes the body upstream.
				d.Close()
				got, err := io.ReadAll(r.Body)
				r.Body.Close()
				if err != nil || !bytes.Equal(got, body) {
					t.Errorf("worker %d, body %d: the upstream read %d bytes (%v), not the %d signed", w, i, len(got), err, len(body))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The chunks of a body go back to the pools only when the request has
// ended and the upstream has closed the body, in either order. Until then
// the upstream reads its own bytes, even after a Close (a retry after a
// failed dial reads the body again); once recycled, a read gets an error
// and no bytes.
func TestChunkBodyRecyclesOnlyOnceClosedAndEnded(t *testing.T) {
	for _, endFirst := range []bool{true, false} {
		chunk := newChunk(poolMinChunk)
		chunk = append(chunk, bytes.Repeat([]byte("x"), poolMinChunk)...)
		b := &chunkBody{chunks: [][]byte{chunk}}
		p := make([]byte, 10)
		if endFirst {
			endChunkBody(b)
		} else {
			b.Close() // as http.Transport does when a dial fails
		}
		if b.recycled {
			t.Fatalf("recycled with the request ended %v and the body closed %v", endFirst, !endFirst)
		}
		if n, err := b.Read(p); n != 10 || err != nil || string(p) != "xxxxxxxxxx" {
			t.Fatalf("before the chunks are recycled, the upstream read %q, %v", p[:n], err)
		}
		if endFirst {
			b.Close()
		} else {
			endChunkBody(b)
		}
		if !b.recycled || b.chunks != nil {
			t.Fatal("closed and ended, the chunks were not recycled")
		}
		if n, err := b.Read(p); n != 0 || err != http.ErrBodyReadAfterClose {
			t.Fatalf("a read once recycled: %d, %v", n, err)
		}
	}
}
