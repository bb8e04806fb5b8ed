package funcauth

import (
	"io"
	"net/http"
)

// scrubTrailers keeps the identity headers out of r's trailers. net/http
// fills r.Trailer when the body reaches its end (the keys the client
// declared in its Trailer header, and over HTTP/1.1 any other it sends),
// and proxies forward what they find there then, which upstreams may merge
// into the headers. So the declared identity keys are removed now, and
// r.Body is wrapped to remove them again at the end of the body, before
// the reader that reached it (funcauth itself or the upstream) sees EOF.
func (g *Guard) scrubTrailers(r *http.Request) {
	removeIdentityHeaders(r.Trailer, g.upstream.UserHeader, g.upstream.SignatureHeader)
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = &trailerScrubber{body: r.Body, r: r, user: g.upstream.UserHeader, signature: g.upstream.SignatureHeader}
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
