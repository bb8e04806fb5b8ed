package funcauth

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// headerMAC verifies a MAC of the raw body carried in one header, such as
// faas-cli's "Hmac: sha256=<hex>" or GitHub's X-Hub-Signature-256. Its
// variants are tried in order; the first whose header is present and whose
// prefix matches decides.
type headerMAC struct {
	variants []*macVariant
}

type macVariant struct {
	header string // canonical header name
	prefix string // before the encoded MAC, compared case-insensitively
	hash   *macHash
	size   int
	base64 bool // else hex
}

func newMACVariant(header, prefix, digest string, base64 bool) (*macVariant, error) {
	h := hashByName(digest)
	if h == nil {
		return nil, errors.New("unknown algorithm " + digest + ": use sha1, sha256 or sha512")
	}
	return &macVariant{
		header: http.CanonicalHeaderKey(header),
		prefix: prefix,
		hash:   h,
		size:   h.new().Size(),
		base64: base64,
	}, nil
}

func hashByName(name string) *macHash {
	for _, h := range macHashes {
		if h.name == name {
			return h
		}
	}
	return nil
}

func (s *headerMAC) headers() []string {
	var names []string
	for _, v := range s.variants {
		if len(names) == 0 || names[len(names)-1] != v.header {
			names = append(names, v.header)
		}
	}
	return names
}

func (s *headerMAC) start(in *sigInput) (sigCheck, *refusal) {
	c, no := startHeaderMAC(s, in)
	if no != nil {
		return nil, no
	}
	return c, nil
}

// startHeaderMAC is headerMAC's start, which the request path calls
// without the interface (see calls.go).
func startHeaderMAC(s *headerMAC, in *sigInput) (*macCheck, *refusal) {
	v, mac, no := headerMACOf(s, in.r.Header)
	if no != nil {
		return nil, no
	}
	return newMACCheck(in, v.hash, nil, nil, mac), nil
}

// headerMACOf finds the MAC that h carries for s: the first variant whose
// header h holds once with its prefix decides, and its MAC must decode to
// the variant's size. It returns the variant and the decoded MAC, or why
// there is none.
func headerMACOf(s *headerMAC, h http.Header) (*macVariant, []byte, *refusal) {
	for i := range s.variants {
		v := s.variants[i]
		values := h[v.header] // singleHeader, without the call
		if len(values) != 1 {
			if len(values) > 1 {
				return nil, nil, refuse(ReasonBadSignature, "repeated "+v.header+" header")
			}
			continue
		}
		value, p := values[0], v.prefix
		if len(value) < len(p) {
			continue
		}
		if head := value[:len(p)]; head != p && !strings.EqualFold(head, p) {
			continue
		}
		// decodeMAC, inline (see calls.go).
		var mac []byte
		var err error
		if v.base64 {
			mac, err = base64.StdEncoding.DecodeString(value[len(p):])
		} else {
			mac, err = hex.DecodeString(value[len(p):])
		}
		if err != nil || len(mac) != v.size {
			return nil, nil, undecodableMAC(v)
		}
		return v, mac, nil
	}
	return nil, nil, refuse(ReasonBadSignature, "the signature header has no accepted algorithm prefix")
}

// undecodableMAC is the refusal of a MAC of v's header whose encoding or
// size is not v's.
func undecodableMAC(v *macVariant) *refusal {
	return refuse(ReasonBadSignature, v.header+" does not hold a "+v.hash.name+" MAC in the expected encoding")
}

// decodeMAC decodes a hex or standard base64 MAC of the given size.
func decodeMAC(s string, isBase64 bool, size int) ([]byte, bool) {
	var mac []byte
	var err error
	if isBase64 {
		mac, err = base64.StdEncoding.DecodeString(s)
	} else {
		mac, err = hex.DecodeString(s)
	}
	return mac, err == nil && len(mac) == size
}

// newFaaSCLIScheme verifies `faas-cli invoke --sign <header> --key <key>`:
// "sha256=<hex>" since faas-cli 0.17.1, "sha1=<hex>" before.
func newFaaSCLIScheme(cfg *Signature) (scheme, error) {
	header := cfg.Header
	if header == "" {
		header = "Hmac"
	}
	algorithms := cfg.Algorithms
	if len(algorithms) == 0 {
		algorithms = []string{"sha256", "sha1"}
	}
	s := &headerMAC{}
	for _, alg := range algorithms {
		if alg != "sha256" && alg != "sha1" {
			return nil, errors.New("algorithms: faas-cli signs with sha256 (or sha1 before 0.17.1), not " + alg)
		}
		v, err := newMACVariant(header, alg+"=", alg, false)
		if err != nil {
			return nil, err
		}
		s.variants = append(s.variants, v)
	}
	return s, nil
}

// newGitHubScheme verifies GitHub's X-Hub-Signature-256, and the legacy
// X-Hub-Signature when "sha1" is among the algorithms.
func newGitHubScheme(cfg *Signature) (scheme, error) {
	algorithms := cfg.Algorithms
	if len(algorithms) == 0 {
		algorithms = []string{"sha256"}
	}
	s := &headerMAC{}
	for _, alg := range algorithms {
		var v *macVariant
		var err error
		switch alg {
		case "sha256":
			v, err = newMACVariant("X-Hub-Signature-256", "sha256=", "sha256", false)
		case "sha1":
			v, err = newMACVariant("X-Hub-Signature", "sha1=", "sha1", false)
		default:
			return nil, errors.New("algorithms: GitHub signs with sha256 (X-Hub-Signature-256) or sha1 (X-Hub-Signature), not " + alg)
		}
		if err != nil {
			return nil, err
		}
		s.variants = append(s.variants, v)
	}
	return s, nil
}

// newGenericScheme verifies a MAC of the body in a header of the operator's
// choosing.
func newGenericScheme(cfg *Signature) (scheme, error) {
	if cfg.Header == "" {
		return nil, errors.New("header: the generic scheme needs the name of the signature header")
	}
	if len(cfg.Algorithms) != 1 {
		return nil, errors.New("algorithms: the generic scheme needs exactly one of sha1, sha256, sha512")
	}
	var isBase64 bool
	switch cfg.Encoding {
	case "", "hex":
	case "base64":
		isBase64 = true
	default:
		return nil, errors.New("encoding: use hex or base64, not " + cfg.Encoding)
	}
	v, err := newMACVariant(cfg.Header, cfg.Prefix, cfg.Algorithms[0], isBase64)
	if err != nil {
		return nil, errors.New("algorithms: " + err.Error())
	}
	return &headerMAC{variants: []*macVariant{v}}, nil
}

// newShopifyScheme verifies Shopify's X-Shopify-Hmac-Sha256 (webhooks) or
// Shopify-Hmac-Sha256 (events): base64 HMAC-SHA256 of the body.
func newShopifyScheme(_ *Signature) (scheme, error) {
	s := &headerMAC{}
	for _, header := range []string{"X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"} {
		v, err := newMACVariant(header, "", "sha256", true)
		if err != nil {
			return nil, err
		}
		s.variants = append(s.variants, v)
	}
	return s, nil
}
