package funcauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// maxTwilioForm bounds the form body Twilio's signature covers, which must
// be parsed in one piece.
const maxTwilioForm = 1 << 20

// twilio verifies X-Twilio-Signature: base64 HMAC-SHA1, under the auth
// token, of the full URL Twilio requested followed by the POST form
// parameters sorted by name, each name then value. For JSON bodies Twilio
// adds bodySHA256=<hex SHA-256 of the body> to the URL instead, which is
// checked against the body. As Twilio's own validators do, the URL is
// tried with and without its port. The URL's scheme and host come from
// BaseURL when set, else from the request (X-Forwarded-Proto only from a
// trusted proxy).
type twilio struct {
	base *url.URL // nil: from the request
}

func newTwilioScheme(cfg *Signature) (scheme, error) {
	t := &twilio{}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return nil, errors.New("base_url: must be an absolute http or https URL without a query, such as https://fn.example.com")
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		t.base = u
	}
	return t, nil
}

func (t *twilio) headers() []string { return []string{"X-Twilio-Signature"} }

func (t *twilio) start(in *sigInput) (sigCheck, *refusal) {
	value, _, dup := singleHeader(in.r.Header, "X-Twilio-Signature")
	if dup {
		return nil, refuse(ReasonBadSignature, "repeated X-Twilio-Signature header")
	}
	sig, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(sig) != sha1.Size {
		return nil, refuse(ReasonBadSignature, "X-Twilio-Signature is not base64 of an HMAC-SHA1")
	}
	// What finish needs of in, which the request path reuses for the next
	// verifier.
	c := &twilioCheck{scheme: t, r: in.r, keys: in.keys, forwardedProtoTrusted: in.forwardedProtoTrusted, sig: sig, bodyHash: sha256.New()}
	return c, nil
}

type twilioCheck struct {
	scheme   *twilio
	r        *http.Request
	keys     []key
	sig      []byte
	bodyHash hash.Hash
	// forwardedProtoTrusted: see sigInput.
	forwardedProtoTrusted bool
}

func (c *twilioCheck) sink() io.Writer { return c.bodyHash }

func (c *twilioCheck) finish(body *spooledBody) (string, string, *refusal) {
	r := c.r
	requestURL := c.scheme.url(r, c.forwardedProtoTrusted)
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", "", refuse(ReasonBadSignature, "the request URL cannot be parsed")
	}
	var params string
	if want := u.Query().Get("bodySHA256"); want != "" {
		got := hex.EncodeToString(c.bodyHash.Sum(nil))
		if !hmac.Equal([]byte(strings.ToLower(want)), []byte(got)) {
			return "", "", refuse(ReasonBadSignature, "bodySHA256 does not match the body")
		}
	} else if isForm(r.Header.Get("Content-Type")) {
		data, ok := body.bytes(maxTwilioForm)
		if !ok {
			return "", "", refuse(ReasonBadSignature, "the form body is larger than 1 MiB")
		}
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return "", "", refuse(ReasonBadSignature, "the form body cannot be parsed")
		}
		params = twilioParams(form)
	} else if body.size > 0 {
		// Twilio signs a form body's parameters, or a bodySHA256 of any
		// other body: a body covered by neither is not Twilio's.
		return "", "", refuse(ReasonBadSignature, "the body is neither a form nor covered by bodySHA256")
	}
	for _, candidate := range urlVariants(u, requestURL) {
		for _, k := range c.keys {
			mac := hmac.New(sha1.New, k.secret)
			mac.Write([]byte(candidate))
			mac.Write([]byte(params))
			if hmac.Equal(mac.Sum(nil), c.sig) {
				// What was signed: the URL as signed (whichever spelling
				// of the port the request used) and the parameters.
				signed := sha256.New()
				signed.Write([]byte(candidate))
				signed.Write([]byte{0})
				signed.Write([]byte(params))
				text := "signed:" + string(signed.Sum(nil))
				return k.id, text, nil
			}
		}
	}
	text := "no key verifies the signature of " + strings.SplitN(requestURL, "?", 2)[0]
	return "", "", refuse(ReasonBadSignature, text)
}

// url is the URL Twilio requested, as far as the request tells.
func (t *twilio) url(r *http.Request, forwardedTrusted bool) string {
	uri := requestTarget(r)
	if t.base != nil {
		return t.base.Scheme + "://" + t.base.Host + t.base.Path + uri
	}
	return requestScheme(r, forwardedTrusted) + "://" + r.Host + uri
}

func isForm(contentType string) bool {
	mediaType := strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])
	return strings.EqualFold(mediaType, "application/x-www-form-urlencoded")
}

// twilioParams concatenates the form parameters sorted by name, each name
// followed by its value; a repeated name's values sorted and deduplicated,
// as twilio-python's validator does.
func twilioParams(form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		last := ""
		for i, v := range values {
			if i > 0 && v == last {
				continue
			}
			last = v
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String()
}

// urlVariants returns the URL as requested, without its port and with the
// scheme's default port, as Twilio's validators try them. It edits the
// authority of the raw URL only, so the rest stays byte for byte.
func urlVariants(u *url.URL, raw string) []string {
	variants := []string{raw}
	schemeEnd := strings.Index(raw, "://")
	if schemeEnd < 0 {
		return variants
	}
	rest := raw[schemeEnd+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	head := raw[:schemeEnd+3]
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return append(variants, head+host+tail)
	}
	port := ":80"
	if u.Scheme == "https" {
		port = ":443"
	}
	return append(variants, head+authority+port+tail)
}
