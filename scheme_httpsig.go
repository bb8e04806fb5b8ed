package funcauth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// httpMessageSignatures verifies HTTP Message Signatures (RFC 9421) with
// hmac-sha256 and ed25519 keys. Every signature must cover the configured
// components; a covered content-digest (RFC 9530) is checked against the
// body; a created time is required and held to the tolerance, an expires
// time to the clock. The nonce, or else the created time with the
// required components' values, is what replay protection remembers. Keys are "<alg>:<keyid>:<key>", bound to their
// algorithm so that a public key can never be used as an HMAC secret.
type httpMessageSignatures struct {
	components []string // required covered components
	algorithms []string // accepted algorithms
}

var defaultSignatureComponents = []string{"@method", "@authority", "@path", "content-digest"}

func newHTTPMessageSignaturesScheme(cfg *Signature) (scheme, error) {
	s := &httpMessageSignatures{components: cfg.Components, algorithms: cfg.Algorithms}
	if len(s.components) == 0 {
		s.components = defaultSignatureComponents
	}
	for _, c := range s.components {
		if c == "" || c != strings.ToLower(c) || (strings.HasPrefix(c, "@") && !derivedComponent(c)) {
			return nil, errors.New("components: " + strconv.Quote(c) + " is not a lower-case field name or one of @method, @authority, @scheme, @target-uri, @request-target, @path, @query")
		}
	}
	if len(s.algorithms) == 0 {
		s.algorithms = []string{algHMACSHA256, algEd25519}
	}
	for _, a := range s.algorithms {
		if a != algHMACSHA256 && a != algEd25519 {
			return nil, errors.New("algorithms: use hmac-sha256 and/or ed25519, not " + a)
		}
	}
	return s, nil
}

func derivedComponent(name string) bool {
	switch name {
	case "@method", "@authority", "@scheme", "@target-uri", "@request-target", "@path", "@query":
		return true
	}
	return false
}

func (s *httpMessageSignatures) headers() []string { return []string{"Signature"} }

// messageSignature is one verified signature awaiting the body.
type messageSignature struct {
	keyID    string
	replayID string
	digests  []contentDigest // to check against the body; none when not covered
}

type contentDigest struct {
	alg  string // sha-256 or sha-512
	want []byte
}

func (s *httpMessageSignatures) start(in *sigInput) (sigCheck, *refusal) {
	r := in.r
	inputs, err := parseSFDictionary(strings.Join(r.Header.Values("Signature-Input"), ", "))
	if err != nil || len(inputs) == 0 {
		return nil, refuse(ReasonBadSignature, "Signature-Input is missing or malformed")
	}
	sigs, err := parseSFDictionary(strings.Join(r.Header.Values("Signature"), ", "))
	if err != nil || len(sigs) == 0 {
		return nil, refuse(ReasonBadSignature, "Signature is missing or malformed")
	}
	no := refuse(ReasonBadSignature, "no signature label verifies")
	for _, input := range inputs {
		var sig *sfMember
		for _, m := range sigs {
			if m.key == input.key {
				sig = m
			}
		}
		if sig == nil || sig.inner || sig.item.kind != 'b' || !input.inner {
			continue
		}
		ok, why := s.verify(in, input, sig.item.bytes)
		if ok != nil {
			return newMessageSignatureCheck(ok), nil
		}
		no = refuse(why.reason, input.key+": "+why.detail)
		if why.reason == ReasonExpired || why.reason == ReasonFuture {
			break
		}
	}
	return nil, no
}

// verify checks one labelled signature against the policy and the keys.
func (s *httpMessageSignatures) verify(in *sigInput, input *sfMember, sig []byte) (*messageSignature, *refusal) {
	r := in.r
	covered := make(map[string]bool)
	for _, item := range input.items {
		if item.kind != 's' {
			return nil, refuse(ReasonBadSignature, "a component identifier is not a string")
		}
		if len(item.params) > 0 {
			return nil, refuse(ReasonBadSignature, "component parameters (;sf, ;key, ;req, ;bs, ;name) are not supported")
		}
		if covered[item.str] {
			return nil, refuse(ReasonBadSignature, "a component is covered twice")
		}
		covered[item.str] = true
	}
	hasBody := r.ContentLength != 0
	for _, c := range s.components {
		if c == "content-digest" && !hasBody {
			continue
		}
		if !covered[c] {
			text := "the signature does not cover " + c
			return nil, refuse(ReasonBadSignature, text)
		}
	}
	created := param(input.params, "created")
	if created == nil || created.kind != 'i' {
		return nil, refuse(ReasonBadSignature, "the signature has no created time")
	}
	if no := checkTimestamp(unixTime(created.num), in.now, in.tolerance, in.tolerance); no != nil {
		return nil, no
	}
	if expires := param(input.params, "expires"); expires != nil {
		if expires.kind != 'i' || !in.now.Before(unixTime(expires.num)) {
			return nil, refuse(ReasonExpired, "the signature has expired")
		}
	}
	alg := ""
	if a := param(input.params, "alg"); a != nil {
		if a.kind != 's' {
			return nil, refuse(ReasonBadSignature, "alg is not a string")
		}
		alg = a.str
	}
	keyID := ""
	if k := param(input.params, "keyid"); k != nil {
		if k.kind != 's' {
			return nil, refuse(ReasonBadSignature, "keyid is not a string")
		}
		keyID = k.str
	}
	base, err := signatureBase(r, input, in.forwardedProtoTrusted)
	if err != nil {
		return nil, refuse(ReasonBadSignature, err.Error())
	}
	k := s.findKey(in.keys, keyID, alg, base, sig)
	if k == nil {
		return nil, refuse(ReasonBadSignature, "no key verifies the signature")
	}
	result := &messageSignature{keyID: k.id}
	if nonce := param(input.params, "nonce"); nonce != nil && nonce.kind == 's' && nonce.str != "" {
		result.replayID = "nonce:" + nonce.str
	} else {
		result.replayID = s.signedContent(r, created.num, hasBody, in.forwardedProtoTrusted)
	}
	if covered["content-digest"] {
		digests, err := parseContentDigest(r.Header.Values("Content-Digest"))
		if err != nil {
			return nil, refuse(ReasonBadSignature, err.Error())
		}
		result.digests = digests
	}
	return result, nil
}

// signedContent identifies a message without a nonce for replay
// protection: its created time and the values of the components every
// accepted signature must cover (the body through content-digest), the
// same whichever label, algorithm or key verified.
func (s *httpMessageSignatures) signedContent(r *http.Request, created int64, hasBody, forwardedTrusted bool) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(created, 10)))
	for _, c := range s.components {
		if c == "content-digest" && !hasBody {
			continue
		}
		value, err := componentValue(r, c, forwardedTrusted)
		if err != nil {
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(c))
		h.Write([]byte{0})
		h.Write([]byte(value))
	}
	text := "signed:" + string(h.Sum(nil))
	return text
}

// findKey returns the key that verifies sig over base: the key named
// keyid (any key when the signature names none), of an accepted algorithm
// that alg, when given, agrees with.
func (s *httpMessageSignatures) findKey(keys []key, keyID, alg string, base, sig []byte) *key {
	for i := range keys {
		k := &keys[i]
		if (keyID != "" && k.id != keyID) || (alg != "" && alg != k.alg) || !containsString(s.algorithms, k.alg) {
			continue
		}
		switch k.alg {
		case algHMACSHA256:
			mac := hmac.New(sha256.New, k.secret)
			mac.Write(base)
			if hmac.Equal(mac.Sum(nil), sig) {
				return k
			}
		case algEd25519:
			if len(k.secret) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize && ed25519.Verify(ed25519.PublicKey(k.secret), base, sig) {
				return k
			}
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signatureBase builds the signature base of RFC 9421 section 2.5.
func signatureBase(r *http.Request, input *sfMember, forwardedTrusted bool) ([]byte, error) {
	var b strings.Builder
	for _, item := range input.items {
		value, err := componentValue(r, item.str, forwardedTrusted)
		if err != nil {
			return nil, err
		}
		b.WriteString(strconv.Quote(item.str))
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(serializeInnerList(input.items, input.params))
	return []byte(b.String()), nil
}

// componentValue is the value of a covered component (RFC 9421 section 2).
func componentValue(r *http.Request, name string, forwardedTrusted bool) (string, error) {
	uri := requestTarget(r)
	path, query, hasQuery := strings.Cut(uri, "?")
	switch name {
	case "@method":
		return r.Method, nil
	case "@authority":
		return requestAuthority(r, forwardedTrusted), nil
	case "@scheme":
		return requestScheme(r, forwardedTrusted), nil
	case "@target-uri":
		text := requestScheme(r, forwardedTrusted) + "://" + requestAuthority(r, forwardedTrusted) + uri
		return text, nil
	case "@request-target":
		return uri, nil
	case "@path":
		if path == "" {
			path = "/"
		}
		return path, nil
	case "@query":
		if !hasQuery {
			return "?", nil
		}
		text := "?" + query
		return text, nil
	}
	if strings.HasPrefix(name, "@") {
		return "", errors.New("unsupported component " + name)
	}
	if name == "host" {
		return r.Host, nil
	}
	values := r.Header.Values(name)
	if len(values) == 0 {
		return "", errors.New("the covered field " + name + " is missing")
	}
	for i := range values {
		values[i] = strings.TrimSpace(values[i])
	}
	return strings.Join(values, ", "), nil
}

// requestTarget is the path and query as the client sent them.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// requestScheme is the scheme the client used: X-Forwarded-Proto from a
// trusted proxy, else whether the request came over TLS.
func requestScheme(r *http.Request, forwardedTrusted bool) string {
	if forwardedTrusted {
		if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// requestAuthority is the lower-case host, with the port unless it is the
// scheme's default.
func requestAuthority(r *http.Request, forwardedTrusted bool) string {
	host := strings.ToLower(r.Host)
	switch requestScheme(r, forwardedTrusted) {
	case "https":
		host = strings.TrimSuffix(host, ":443")
	case "http":
		host = strings.TrimSuffix(host, ":80")
	}
	return host
}

// parseContentDigest reads Content-Digest (RFC 9530): the sha-256 and
// sha-512 entries; others are ignored, but at least one must be there.
func parseContentDigest(values []string) ([]contentDigest, error) {
	members, err := parseSFDictionary(strings.Join(values, ", "))
	if err != nil {
		return nil, errors.New("Content-Digest is malformed")
	}
	var out []contentDigest
	for _, m := range members {
		if m.inner || m.item.kind != 'b' {
			continue
		}
		switch {
		case m.key == "sha-256" && len(m.item.bytes) == sha256.Size,
			m.key == "sha-512" && len(m.item.bytes) == sha512.Size:
			out = append(out, contentDigest{alg: m.key, want: m.item.bytes})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("Content-Digest has no sha-256 or sha-512 entry")
	}
	return out, nil
}

// messageSignatureCheck holds a verified signature until the body has been
// read and its digests can be compared.
type messageSignatureCheck struct {
	sig    *messageSignature
	sha256 hash.Hash
	sha512 hash.Hash
	body   io.Writer // the digests the signature covers, as one writer
}

// newMessageSignatureCheck computes the body's digests that sig covers.
func newMessageSignatureCheck(sig *messageSignature) *messageSignatureCheck {
	c := &messageSignatureCheck{sig: sig, sha256: sha256.New(), sha512: sha512.New()}
	var with256, with512 bool
	for _, d := range sig.digests {
		if d.alg == "sha-256" {
			with256 = true
		} else {
			with512 = true
		}
	}
	switch {
	case with256 && with512:
		c.body = io.MultiWriter(c.sha256, c.sha512)
	case with256:
		c.body = c.sha256
	case with512:
		c.body = c.sha512
	default:
		c.body = io.Discard
	}
	return c
}

func (c *messageSignatureCheck) sink() io.Writer { return c.body }

func (c *messageSignatureCheck) finish(_ *spooledBody) (string, string, *refusal) {
	for _, d := range c.sig.digests {
		got := c.sha256.Sum(nil)
		if d.alg == "sha-512" {
			got = c.sha512.Sum(nil)
		}
		if !hmac.Equal(got, d.want) {
			text := "Content-Digest " + d.alg + " does not match the body"
			return "", "", refuse(ReasonBadSignature, text)
		}
	}
	return c.sig.keyID, c.sig.replayID, nil
}
