package funcauth

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

// bodyLimits are the compiled Body settings.
type bodyLimits struct {
	max     int64  // largest body accepted
	memory  int64  // kept in memory; the rest goes to a temporary file
	budget  int64  // bytes all bodies in flight may hold in memory, process-wide
	tempDir string // "" for os.TempDir()
	// small is the largest declared length read in one piece (see
	// smallBody), never past memory.
	small int64
}

// Buffer sizes: a body's memory starts at firstBodyBuffer bytes and
// doubles as bytes arrive, never ahead of them; a spooled body is read
// through spoolBuffer bytes, or minSpoolBuffer once the budget is spent.
const (
	firstBodyBuffer = 512
	spoolBuffer     = 32 << 10
	minSpoolBuffer  = 4 << 10
)

// bodyMemory counts the bytes that bodies in flight hold in memory,
// across every Guard of the process: the memory is the process's,
// whichever route or configuration reads the body. A body reserves its
// buffer here before allocating it, and releases it when it is closed.
var bodyMemory = &memoryBudget{}

// memoryBudget counts bytes held against a budget the caller gives.
type memoryBudget struct {
	held int64 // atomic
}

// reserve takes n bytes if the total stays within budget. (A reservation
// that would pass the budget is taken back: one racing with it may be
// refused meanwhile, and reads its body through the spool instead.)
func (m *memoryBudget) reserve(n, budget int64) bool {
	if atomic.AddInt64(&m.held, n) > budget {
		atomic.AddInt64(&m.held, -n)
		return false
	}
	return true
}

// release returns n bytes.
func (m *memoryBudget) release(n int64) {
	atomic.AddInt64(&m.held, -n)
}

// spooledBody is a request body that was read whole: in memory when small,
// in an unlinked temporary file beyond bodyLimits.memory or once the
// memory budget is spent, so memory grows neither with the body's size
// nor with the number of bodies in flight.
type spooledBody struct {
	size     int64
	mem      []byte   // the body in memory in one piece, or
	chunks   [][]byte // in several
	file     *os.File
	budget   int64 // the Guard's bodyLimits.budget
	reserved int64 // bytes of bodyMemory this body holds
	// digest is the body's SHA-256, when replay protection needs it.
	digest []byte
	// upstream is the upstream's body when it reads pooled chunks (see
	// body_pool.go).
	upstream *chunkBody

	// Held here, so that reading a small body costs no allocations of its
	// own: digest's array, the byte read past a declared length, and the
	// reader the upstream gets of mem.
	digestArray [sha256.Size]byte
	probe       [1]byte
	reader      bytes.Reader
}

// Reading a signed body. The signature checks read r's body once into a
// new spooledBody sb, bounded by limits.max, writing every byte to sink
// (the signature checks) and keeping it for the upstream, with its SHA-256
// in sb.digest when digest is set: in one piece when small (a declared
// length within limits.small, see smallBody), by readStreamed otherwise
// (see readSignedBody). On success r.Body is replaced by the kept bytes
// and r.ContentLength set to their length, and the decision holds sb,
// which closeBody releases when the request ends.
//
// Memory follows the bytes received, never what Content-Length claims: a
// client that declares a large body and stalls holds one small buffer.
// A body that ends before its Content-Length is body_unreadable, whatever
// the reason (the client went away, or something before funcauth had
// already read it), and never reaches the signature checks' verdict.

// readStreamed reads a body that is not small as it arrives.
func readStreamed(r *http.Request, limits *bodyLimits, sink io.Writer, digest bool, sb *spooledBody) *refusal {
	if digest {
		return readStreamDigest(r, limits, sink, sb)
	}
	return readStream(r, limits, sink, sb)
}

// readStreamDigest is readStream, with the body's SHA-256.
func readStreamDigest(r *http.Request, limits *bodyLimits, sink io.Writer, sb *spooledBody) *refusal {
	h := sha256.New()
	no := readStream(r, limits, io.MultiWriter(sink, h), sb)
	if no == nil {
		sb.digest = h.Sum(sb.digestArray[:0])
	}
	return no
}

// smallBody is the largest declared body read in one piece, into a buffer
// of its declared size: no more than the server's own read buffer of a
// connection, so that a client declaring a body and stalling still holds
// no more than that.
const smallBody = 4 << 10

// readSignedBody reads q's body through sink, with its SHA-256 when
// digest is set, and holds it for the upstream (q.d.body). A small
// body is read in one piece, with few calls, all of them into the
// standard library; any other, or one for which the memory budget has no
// room, as it arrives (readStreamed). Read to its end, the body has
// brought all its trailers, from which the identity headers are removed.
func readSignedBody(g *Guard, q *checkedRequest, sink io.Writer, digest bool) *refusal {
	r := q.r
	n := r.ContentLength
	if n <= 0 || n > g.body.small || r.Body == nil {
		return holdStreamedBody(g, q, sink, digest)
	}
	if atomic.AddInt64(&bodyMemory.held, n) > g.body.budget { // bodyMemory.reserve, inline
		atomic.AddInt64(&bodyMemory.held, -n)
		return holdStreamedBody(g, q, sink, digest)
	}
	sb := new(spooledBody)
	sb.budget, sb.reserved, sb.size = g.body.budget, n, n
	sb.mem = make([]byte, n)
	got, err := io.ReadFull(r.Body, sb.mem)
	if err != nil {
		return sb.refuseSmall(n, got, err, false)
	}
	// Every declared byte is in: the body must end here.
	got, err = r.Body.Read(sb.probe[:])
	if got != 0 || err != nil && err != io.EOF {
		return sb.refuseSmall(n, got, err, true)
	}
	r.Body.Close()
	sink.Write(sb.mem)
	if digest {
		sb.digestArray = sha256.Sum256(sb.mem)
		sb.digest = sb.digestArray[:]
	}
	if len(r.TransferEncoding) > 0 {
		sb.install(r)
	} else {
		sb.reader.Reset(sb.mem)
		r.Body = io.NopCloser(&sb.reader)
	}
	if len(r.Trailer) > 0 {
		scrubReadTrailers(g, r)
	}
	q.d.body = sb
	return nil
}

// holdStreamedBody reads q's body as it arrives through sink (see
// readStreamed), with its SHA-256 when digest is set, and holds it for the
// upstream, with the identity headers removed from its trailers: the body
// of a signed request that is not small, or of an allowed request of
// unknown length (boundUnreadBody).
func holdStreamedBody(g *Guard, q *checkedRequest, sink io.Writer, digest bool) *refusal {
	r, sb := q.r, new(spooledBody)
	if no := readStreamed(r, g.body, sink, digest, sb); no != nil {
		return no
	}
	if len(r.Trailer) > 0 {
		scrubReadTrailers(g, r)
	}
	q.d.body = sb
	return nil
}

// refuseSmall is readSignedBody's refusal of a small body, with what the
// read of the declared bytes or, once they were in (probed), the read past
// them returned.
func (sb *spooledBody) refuseSmall(n int64, got int, err error, probed bool) *refusal {
	closeBody(sb)
	switch {
	case probed && got > 0:
		return longerThanDeclared(n)
	case !probed && (err == io.ErrUnexpectedEOF || err == io.EOF):
		return refuse(ReasonBodyUnreadable, shortBody(int64(got), n))
	}
	return bodyReadError(err)
}

// readStream reads a body that is not small in chunks, spooling it to a
// file past limits.memory.
func readStream(r *http.Request, limits *bodyLimits, sink io.Writer, sb *spooledBody) *refusal {
	if r.ContentLength > limits.max {
		return refuse(ReasonBodyTooLarge, "Content-Length "+strconv.FormatInt(r.ContentLength, 10)+" exceeds "+strconv.FormatInt(limits.max, 10))
	}
	sb.budget = limits.budget
	if r.Body == nil || r.Body == http.NoBody {
		if r.ContentLength > 0 {
			return refuse(ReasonBodyUnreadable, shortBody(0, r.ContentLength))
		}
	} else {
		if no := sb.readChunks(r, limits, sink); no != nil {
			closeBody(sb)
			return no
		}
		r.Body.Close()
	}
	sb.install(r)
	return nil
}

// bodyReadError is the refusal for an error reading the body.
func bodyReadError(err error) *refusal {
	if _, ok := err.(*http.MaxBytesError); ok {
		return refuse(ReasonBodyTooLarge, "body exceeds the host's limit")
	}
	return refuse(ReasonBodyUnreadable, "reading the body: "+err.Error())
}

// readChunks reads a body of any length as it arrives: in memory up to
// limits.memory, in chunks that double in size as bytes arrive (a full
// chunk is kept as it is, never copied into a larger one), and spooled to
// a temporary file past it.
func (sb *spooledBody) readChunks(r *http.Request, limits *bodyLimits, sink io.Writer) *refusal {
	var buf []byte   // in memory: the chunk being filled; once spooled: the read buffer
	var probe []byte // one byte, to find the end once every declared byte is in
	for {
		complete := sb.file == nil && r.ContentLength > 0 && r.ContentLength <= limits.memory && sb.size == r.ContentLength
		if sb.file == nil && !complete && (sb.size > limits.memory || len(buf) == cap(buf)) {
			var next []byte
			if sb.size <= limits.memory {
				next = sb.nextChunk(cap(buf), limits.memory, r.ContentLength)
			}
			if len(buf) > 0 {
				sb.chunks = append(sb.chunks, buf)
			}
			if next == nil {
				if no := sb.spool(limits.tempDir); no != nil {
					return no
				}
				next = sb.readBuffer()
			}
			buf = next
		}
		var chunk []byte
		switch {
		case sb.file != nil:
			chunk = buf
		case complete:
			if probe == nil {
				probe = make([]byte, 1)
			}
			chunk = probe
		default:
			chunk = buf[len(buf):cap(buf)]
		}
		n, err := r.Body.Read(chunk)
		if n > 0 {
			if sb.size+int64(n) > limits.max {
				return refuse(ReasonBodyTooLarge, "body exceeds "+strconv.FormatInt(limits.max, 10)+" bytes")
			}
			if r.ContentLength > 0 && sb.size+int64(n) > r.ContentLength {
				return longerThanDeclared(r.ContentLength)
			}
			chunk = chunk[:n]
			sb.size += int64(n)
			sink.Write(chunk)
			if sb.file == nil {
				buf = buf[:len(buf)+n]
			} else if _, werr := sb.file.Write(chunk); werr != nil {
				return refuse(ReasonSpoolFailed, "writing the spooled body: "+werr.Error())
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyReadError(err)
		}
	}
	if r.ContentLength > 0 && sb.size < r.ContentLength {
		return refuse(ReasonBodyUnreadable, shortBody(sb.size, r.ContentLength))
	}
	switch {
	case sb.file != nil:
		sb.free(sb.reserved) // the read buffer is done with
	case sb.chunks == nil:
		sb.mem = buf // the body in one piece
	case len(buf) > 0:
		sb.chunks = append(sb.chunks, buf)
	}
	return nil
}

// longerThanDeclared refuses a body that goes on past its Content-Length.
func longerThanDeclared(declared int64) *refusal {
	return refuse(ReasonBodyUnreadable, "the body is longer than its Content-Length "+strconv.FormatInt(declared, 10))
}

// shortBody explains a body that ended before its Content-Length.
func shortBody(got, declared int64) string {
	return "the body ended after " + strconv.FormatInt(got, 10) + " of the " + strconv.FormatInt(declared, 10) +
		" bytes its Content-Length declares: the client went away, or something before funcauth (such as a retry middleware) had already read it"
}

// nextChunk returns the next chunk of a body held in memory, empty with
// twice the capacity of the last (at least firstBodyBuffer), bounded so
// that the chunks hold at most memory+1 bytes (the byte that tells a body
// larger than memory) and, when the declared length fits in memory, no
// more than it; or nil when there is no room left, or the memory budget
// has none for it.
func (sb *spooledBody) nextChunk(last int, memory, declared int64) []byte {
	size := int64(2 * last)
	if size < firstBodyBuffer {
		size = firstBodyBuffer
	}
	if room := memory + 1 - sb.size; size > room {
		size = room
	}
	if declared > 0 && declared <= memory && size > declared-sb.size {
		size = declared - sb.size
	}
	if size <= 0 || !bodyMemory.reserve(size, sb.budget) {
		return nil
	}
	sb.reserved += size
	return newChunk(size)
}

// free returns n of the body's reserved bytes to the budget.
func (sb *spooledBody) free(n int64) {
	if n > 0 {
		bodyMemory.release(n)
		sb.reserved -= n
	}
}

// readBuffer returns the buffer a spooled body is read through, once the
// chunks it had in memory are on disk: spoolBuffer bytes where the budget
// allows. When the budget is spent, it is a buffer of minSpoolBuffer bytes
// outside the budget: the size of the server's own per-connection read
// buffer, so memory still grows only with the number of connections,
// never with what bodies claim.
func (sb *spooledBody) readBuffer() []byte {
	sb.free(sb.reserved)
	if bodyMemory.reserve(spoolBuffer, sb.budget) {
		sb.reserved = spoolBuffer
		return make([]byte, spoolBuffer)
	}
	return make([]byte, minSpoolBuffer)
}

// spool moves the chunks read so far to an unlinked temporary file; the
// rest of the body is written there as it arrives.
func (sb *spooledBody) spool(tempDir string) *refusal {
	f, err := os.CreateTemp(tempDir, "funcauth-body-*")
	if err != nil {
		return refuse(ReasonSpoolFailed, "cannot spool a body larger than body.memory_size (or past body.memory_budget): "+err.Error())
	}
	// Unlink at once: the open file stays usable and nothing is left
	// behind even if the process dies. Close removes it again where
	// the platform refuses to unlink an open file.
	os.Remove(f.Name())
	sb.file = f
	for _, c := range sb.chunks {
		if _, err := f.Write(c); err != nil {
			return refuse(ReasonSpoolFailed, "writing the spooled body: "+err.Error())
		}
	}
	recycleChunks(sb.chunks) // on disk now, and read by nothing else
	sb.chunks = nil
	return nil
}

// install makes the kept body r's body, with an exact Content-Length. The
// body is a plain ReadCloser of the standard library (no WriteTo of the
// file, a Close that leaves the cleanup to the Decision): under Yaegi, the
// upstream's reads then cost no interpreter frame. A body in pooled
// chunks is the exception: the upstream reads a chunkBody, which knows
// when the chunks may be reused (see body_pool.go).
func (sb *spooledBody) install(r *http.Request) {
	switch {
	case sb.file != nil:
		r.Body = io.NopCloser(io.NewSectionReader(sb.file, 0, sb.size))
	case sb.size == 0:
		r.Body = http.NoBody
	case sb.chunks != nil && holdsPooledChunk(sb.chunks):
		sb.upstream = &chunkBody{chunks: sb.chunks}
		r.Body = sb.upstream
	case sb.chunks != nil:
		readers := make([]io.Reader, len(sb.chunks))
		for i, c := range sb.chunks {
			readers[i] = bytes.NewReader(c)
		}
		r.Body = io.NopCloser(io.MultiReader(readers...))
	default:
		sb.reader.Reset(sb.mem)
		r.Body = io.NopCloser(&sb.reader)
	}
	if r.ContentLength != sb.size || len(r.TransferEncoding) > 0 {
		// The body came chunked: give it its length. (A known length
		// already matched: the server holds the client to it.)
		r.TransferEncoding = nil
		r.Header.Del("Transfer-Encoding")
		r.Header.Set("Content-Length", strconv.FormatInt(sb.size, 10))
	}
	r.ContentLength = sb.size
}

// bytes returns the whole body, for schemes that verify the body in one
// piece (Ed25519, form parameters). A spooled body is read back from its
// file up to max bytes; false when it is larger.
func (sb *spooledBody) bytes(max int64) ([]byte, bool) {
	if sb.chunks != nil {
		return bytes.Join(sb.chunks, nil), true
	}
	if sb.file == nil {
		return sb.mem, true
	}
	if sb.size > max {
		return nil, false
	}
	data := make([]byte, sb.size)
	if _, err := sb.file.ReadAt(data, 0); err != nil {
		return nil, false
	}
	return data, true
}

// closeBody removes the temporary file, if any, and returns the body's memory
// to the budget.
func closeBody(sb *spooledBody) {
	if sb.reserved > 0 {
		atomic.AddInt64(&bodyMemory.held, -sb.reserved) // bodyMemory.release, inline
		sb.reserved = 0
	}
	if sb.upstream != nil {
		endChunkBody(sb.upstream) // recycles the chunks once the upstream is done
		sb.upstream = nil
	} else if sb.chunks != nil {
		recycleChunks(sb.chunks) // never given to the upstream
	}
	sb.chunks = nil
	if sb.file != nil {
		sb.removeFile()
	}
}

// removeFile closes and removes the body's temporary file.
func (sb *spooledBody) removeFile() {
	sb.file.Close()
	os.Remove(sb.file.Name())
	sb.file = nil
}

// limitBody bounds a body that funcauth does not read itself (routes that
// need no signature): a Content-Length over the limit is refused at once,
// and a body that turns out longer fails with *http.MaxBytesError, which
// Caddy's reverse proxy answers with 413.
func limitBody(r *http.Request, max int64) *refusal {
	if r.ContentLength > max {
		return refuse(ReasonBodyTooLarge, "Content-Length "+strconv.FormatInt(r.ContentLength, 10)+" exceeds "+strconv.FormatInt(max, 10))
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{body: r.Body, left: max, max: max}
	}
	return nil
}

type limitedBody struct {
	body io.ReadCloser
	left int64
	max  int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &http.MaxBytesError{Limit: l.max}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.body.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = -1
		return n, &http.MaxBytesError{Limit: l.max}
	}
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.body.Close() }
