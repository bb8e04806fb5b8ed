package funcauth

import (
	"io"
	"net/http"
	"sync"
)

// Pooled chunks: the memory of large bodies, kept between requests.
//
// A body held in memory grows by chunks that double in size (see
// readChunks). Allocating the large ones afresh for every body costs
// about as much again as the body's HMAC: the runtime clears them, and
// the kernel maps their pages again once the runtime has given them back.
// Chunks of poolMinChunk bytes and more are therefore kept in pools, one
// per size, and reused.
//
// A chunk is reused only once nothing can read it any more. The upstream
// reads such a body through a chunkBody, whose reads copy from the chunks
// under its lock: once the chunks are back in the pools, a read gets an
// error and touches none of them. They go back when the request has ended
// (closeBody) and the upstream has closed the body, whichever comes last:
// http.Transport closes a request's body once it is done with it, and may
// still be reading it after the handler has returned; and a retry within
// the handler (Traefik's retry middleware, after a failed dial closed the
// body) reads it again. A body that is never closed keeps its chunks, and
// the garbage collector takes them. One difference from a body in the
// standard library's readers: when the upstream answers before it has
// read the whole body and the proxy then closes it and the request ends,
// a write of the rest still under way gets an error rather than the rest
// (the upstream had answered already; its connection is not reused).

// poolMinChunk is the smallest chunk kept in a pool; chunkPools is how
// many sizes are, each twice the last (32 KiB to 64 MiB).
const (
	poolMinChunk = 32 << 10
	chunkPools   = 12
)

var chunkPool [chunkPools]sync.Pool

// chunkClass is the index of the pool of chunks of size bytes, or -1.
func chunkClass(size int64) int {
	for i := 0; i < chunkPools; i++ {
		if int64(poolMinChunk)<<i == size {
			return i
		}
	}
	return -1
}

// newChunk returns an empty chunk of capacity size, from its pool when
// one is kept there. Its bytes may be another body's: only what is read
// into it is ever read from it.
func newChunk(size int64) []byte {
	if c := chunkClass(size); c >= 0 {
		if kept := chunkPool[c].Get(); kept != nil {
			return kept.([]byte)[:0] // (no comma-ok: see calls.go)
		}
	}
	return make([]byte, 0, size)
}

// recycleChunks puts the chunks of a pooled size back in their pools.
// Nothing may read them afterwards.
func recycleChunks(chunks [][]byte) {
	for _, b := range chunks {
		if c := chunkClass(int64(cap(b))); c >= 0 {
			chunkPool[c].Put(b[:cap(b)])
		}
	}
}

// holdsPooledChunk says whether any of chunks is of a pooled size.
func holdsPooledChunk(chunks [][]byte) bool {
	for _, b := range chunks {
		if chunkClass(int64(cap(b))) >= 0 {
			return true
		}
	}
	return false
}

// chunkBody is the upstream's body when it is held in chunks from the
// pools (see above).
type chunkBody struct {
	mu       sync.Mutex
	chunks   [][]byte // the body, in order; nil once recycled
	next     int      // the chunk the next read starts in
	off      int      // where in it
	closed   bool     // the upstream closed the body
	ended    bool     // the request ended
	recycled bool     // the chunks are back in the pools
}

// Read reads the body on; once the chunks are recycled it fails, touching
// none of them.
func (b *chunkBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.recycled {
		return 0, http.ErrBodyReadAfterClose
	}
	n := 0
	for n < len(p) && b.next < len(b.chunks) {
		m := copy(p[n:], b.chunks[b.next][b.off:])
		n += m
		b.off += m
		if b.off == len(b.chunks[b.next]) {
			b.next++
			b.off = 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Close ends the upstream's reads (see recycleIfDone).
func (b *chunkBody) Close() error {
	b.mu.Lock()
	b.closed = true
	recycleIfDone(b)
	b.mu.Unlock()
	return nil
}

// endChunkBody notes that b's request has ended (see recycleIfDone).
func endChunkBody(b *chunkBody) {
	b.mu.Lock()
	b.ended = true
	recycleIfDone(b)
	b.mu.Unlock()
}

// recycleIfDone recycles b's chunks once both the upstream has closed it
// and the request has ended. b.mu is held.
func recycleIfDone(b *chunkBody) {
	if b.closed && b.ended && !b.recycled {
		recycleChunks(b.chunks)
		b.chunks = nil
		b.recycled = true
	}
}
