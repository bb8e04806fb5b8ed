package funcauth

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// bodyLimits are the compiled Body settings.
type bodyLimits struct {
	max     int64  // largest body accepted
	memory  int64  // kept in memory; the rest goes to a temporary file
	tempDir string // "" for os.TempDir()
}

// copyBuffers are the buffers bodies are read through.
var copyBuffers = sync.Pool{New: func() interface{} {
	b := make([]byte, 32*1024)
	return &b
}}

// spooledBody is a request body that was read whole: in memory when small,
// in an unlinked temporary file beyond bodyLimits.memory, so memory does
// not grow with the body's size.
type spooledBody struct {
	size int64
	mem  []byte
	file *os.File
	// digest is the body's SHA-256, when replay protection needs it.
	digest []byte
}

// readBody reads r's body once, bounded by limits.max, writing every byte
// to sink (the signature checks) and keeping it for the upstream. On
// success r.Body is replaced by the kept bytes and r.ContentLength set to
// their length; the caller must Close the spooledBody when the request ends.
func readBody(r *http.Request, limits *bodyLimits, sink io.Writer) (*spooledBody, Reason, string) {
	if r.ContentLength > limits.max {
		text := "Content-Length " + strconv.FormatInt(r.ContentLength, 10) + " exceeds " + strconv.FormatInt(limits.max, 10)
		return nil, ReasonBodyTooLarge, text
	}
	sb := &spooledBody{}
	if r.Body == nil || r.Body == http.NoBody {
		sb.install(r)
		return sb, "", ""
	}
	var mem bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limits.memory {
		mem.Grow(int(r.ContentLength))
	}
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	buf := *bufp
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if sb.size+int64(n) > limits.max {
				sb.Close()
				text := "body exceeds " + strconv.FormatInt(limits.max, 10) + " bytes"
				return nil, ReasonBodyTooLarge, text
			}
			sb.size += int64(n)
			sink.Write(buf[:n])
			if reason, detail := sb.keep(&mem, buf[:n], limits); reason != "" {
				sb.Close()
				return nil, reason, detail
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sb.Close()
			if _, ok := err.(*http.MaxBytesError); ok {
				return nil, ReasonBodyTooLarge, "body exceeds the host's limit"
			}
			text := "reading the body: " + err.Error()
			return nil, ReasonBodyUnreadable, text
		}
	}
	if sb.file == nil {
		sb.mem = mem.Bytes()
	} else if _, err := sb.file.Seek(0, io.SeekStart); err != nil {
		sb.Close()
		text := "rewinding the spooled body: " + err.Error()
		return nil, ReasonSpoolFailed, text
	}
	r.Body.Close()
	sb.install(r)
	return sb, "", ""
}

// keep appends p to the memory buffer, or to the temporary file once the
// body has outgrown limits.memory.
func (sb *spooledBody) keep(mem *bytes.Buffer, p []byte, limits *bodyLimits) (Reason, string) {
	if sb.file == nil && int64(mem.Len()+len(p)) <= limits.memory {
		mem.Write(p)
		return "", ""
	}
	if sb.file == nil {
		f, err := os.CreateTemp(limits.tempDir, "funcauth-body-*")
		if err != nil {
			text := "cannot spool a body larger than body.memory_size: " + err.Error()
			return ReasonSpoolFailed, text
		}
		// Unlink at once: the open file stays usable and nothing is left
		// behind even if the process dies. Close removes it again where
		// the platform refuses to unlink an open file.
		os.Remove(f.Name())
		sb.file = f
		if _, err := f.Write(mem.Bytes()); err != nil {
			text := "writing the spooled body: " + err.Error()
			return ReasonSpoolFailed, text
		}
		*mem = bytes.Buffer{}
	}
	if _, err := sb.file.Write(p); err != nil {
		text := "writing the spooled body: " + err.Error()
		return ReasonSpoolFailed, text
	}
	return "", ""
}

// install makes the kept body r's body, with an exact Content-Length.
func (sb *spooledBody) install(r *http.Request) {
	switch {
	case sb.file != nil:
		r.Body = bodyReader{sb.file}
	case sb.size == 0:
		r.Body = http.NoBody
	default:
		r.Body = bodyReader{bytes.NewReader(sb.mem)}
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

// Close removes the temporary file, if any.
func (sb *spooledBody) Close() {
	if sb.file != nil {
		sb.file.Close()
		os.Remove(sb.file.Name())
		sb.file = nil
	}
}

// bodyReader hides the kept body's other methods (such as the file's
// WriteTo) behind a plain ReadCloser whose Close leaves the cleanup to the
// Decision.
type bodyReader struct {
	r io.Reader
}

func (b bodyReader) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b bodyReader) Close() error               { return nil }

// limitBody bounds a body that funcauth does not read itself (routes that
// need no signature): a Content-Length over the limit is refused at once,
// and a body that turns out longer fails with *http.MaxBytesError, which
// Caddy's reverse proxy answers with 413.
func limitBody(r *http.Request, max int64) (Reason, string) {
	if r.ContentLength > max {
		text := "Content-Length " + strconv.FormatInt(r.ContentLength, 10) + " exceeds " + strconv.FormatInt(max, 10)
		return ReasonBodyTooLarge, text
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{body: r.Body, left: max, max: max}
	}
	return "", ""
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
