package funcauth

import (
	"io"
	"net/http"
)

// scrubTrailers keeps the identity headers out of the trailers of a
// request whose body goes to the upstream unread. net/http fills r.Trailer
// when the body reaches its end (the keys the client declared in its
// Trailer header, and over HTTP/1.1 any other it sends), and proxies
// forward what they find there then, which upstreams may merge into the
// headers. So the declared identity keys are removed now, and r.Body is
// wrapped to remove them again at the end of the body, before the
// upstream sees EOF. (A body funcauth reads itself has its trailers
// scrubbed once it has been read.)
func (g *Guard) scrubTrailers(r *http.Request) {
	if len(r.Trailer) > 0 {
		removeIdentityHeaders(r.Trailer, g.upstream.UserHeader, g.upstream.SignatureHeader)
	}
	if r.Body == nil || r.Body == http.NoBody || !trailersMayFollow(r) {
		return
	}
	r.Body = &trailerScrubber{body: r.Body, r: r, user: g.upstream.UserHeader, signature: g.upstream.SignatureHeader}
}

// trailersMayFollow reports whether trailers may arrive with r's body:
// over HTTP/1.1 only after a chunked body (of unknown length); over
// HTTP/2 only the keys declared in the Trailer header, which Go's server
// leaves r.Trailer non-nil for; over HTTP/3, by any means. A body of known
// length without declared trailers, the common case, needs no wrapper.
func trailersMayFollow(r *http.Request) bool {
	return r.Trailer != nil || r.ContentLength < 0 || r.ProtoMajor >= 3
}

// trailerScrubber removes the identity headers from r.Trailer at the end of
// the body.
type trailerScrubber struct {
	body      io.ReadCloser
	r         *http.Request
	user      string
	signature string
}

func (t *trailerScrubber) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if err == io.EOF {
		removeIdentityHeaders(t.r.Trailer, t.user, t.signature)
	}
	return n, err
}

func (t *trailerScrubber) Close() error { return t.body.Close() }
