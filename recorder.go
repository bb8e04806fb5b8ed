package funcauth

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// StatusRecorder is the http.ResponseWriter a host hands the upstream when
// it needs the upstream's answer for Decision.Finish. It records the
// explicit status (see Status) and keeps what the host's writer can do:
// Hijack (WebSocket upgrades), Flush (streaming), ReadFrom and Push pass
// through to it, and Unwrap lets http.ResponseController reach it.
//
// Under Yaegi (Traefik), a writer the plugin defines reaches Traefik
// through an interpreter wrapper that keeps ResponseWriter and Hijacker
// only: upgrades work, while flushes are left to the proxy's buffering.
type StatusRecorder struct {
	http.ResponseWriter
	status int
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w}
}

// Status is the upstream's explicit answer so far: the first final status
// it wrote, 200 once it wrote or flushed a body without one, 101 once it
// switched protocols or took the connection; 0 before any of these.
func (s *StatusRecorder) Status() int { return s.status }

// WriteHeader records a final status (or 101) and passes it on.
// Informational answers (100, 103) are passed on only.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records the implicit 200 of a body written without a status.
func (s *StatusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush sends what is buffered, and the implicit 200 with it.
func (s *StatusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack hands the connection to the upstream (a WebSocket upgrade), which
// counts as an answer: the message reached it. It fails with
// http.ErrNotSupported where the host's writer cannot be hijacked.
func (s *StatusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil && s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// ReadFrom copies a body through the host's writer's own ReadFrom where it
// has one (sendfile), recording the implicit 200.
func (s *StatusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w: s.ResponseWriter}, src)
}

// Push passes an HTTP/2 server push on where the host's writer supports it.
func (s *StatusRecorder) Push(target string, opts *http.PushOptions) error {
	if p, ok := s.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// Unwrap lets http.ResponseController reach the host's writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// writerOnly hides a writer's ReadFrom, so io.Copy does not loop back.
type writerOnly struct {
	w io.Writer
}

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
