package sign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// extraHeaders signs with the webhook providers' schemes.
//
// Keys: standard-webhooks and svix take "whsec_<base64>"; stripe, slack,
// gitlab and twilio the secret as is; discord an Ed25519 private key seed
// (64 hex digits); http-message-signatures "<alg>:<keyid>:<key>" with a
// base64 HMAC secret or an Ed25519 seed in hex.
func extraHeaders(scheme, key string, opts Options, msg Message) (http.Header, error) {
	h := http.Header{}
	ts := unix(msg.Timestamp)
	switch scheme {
	case "standard-webhooks", "svix":
		secret, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, "whsec_"))
		if err != nil {
			return nil, errors.New("a Standard Webhooks secret is whsec_ followed by base64")
		}
		id := msg.ID
		if id == "" {
			id = "msg_" + strconv.FormatInt(msg.Timestamp.UnixNano(), 36)
		}
		prefix := "Webhook-"
		if scheme == "svix" {
			prefix = "Svix-"
		}
		sig := base64.StdEncoding.EncodeToString(mac("sha256", string(secret), []byte(id+"."+ts+"."), msg.Body))
		h.Set(prefix+"Id", id)
		h.Set(prefix+"Timestamp", ts)
		h.Set(prefix+"Signature", "v1,"+sig)
	case "stripe":
		h.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac("sha256", key, []byte(ts+"."), msg.Body)))
	case "slack":
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac("sha256", key, []byte("v0:"+ts+":"), msg.Body)))
	case "gitlab":
		h.Set("X-Gitlab-Token", key)
		if msg.ID != "" {
			h.Set("Idempotency-Key", msg.ID)
		}
	case "twilio":
		s, err := twilioString(msg)
		if err != nil {
			return nil, err
		}
		h.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac("sha1", key, []byte(s))))
	case "discord":
		seed, err := hex.DecodeString(key)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("a Discord signing key here is an Ed25519 seed of 64 hex digits")
		}
		priv := ed25519.NewKeyFromSeed(seed)
		h.Set("X-Signature-Timestamp", ts)
		h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), msg.Body...))))
	case "http-message-signatures":
		return messageSignature(key, opts, msg)
	default:
		return nil, errors.New("unknown scheme " + scheme)
	}
	return h, nil
}

// twilioString is what Twilio signs: the URL, then for a form body the
// parameters sorted by name, name and value, with no separators.
func twilioString(msg Message) (string, error) {
	if msg.URL == "" {
		return "", errors.New("twilio signs the full URL: give it")
	}
	if len(msg.Body) == 0 || strings.Contains(msg.URL, "bodySHA256=") {
		return msg.URL, nil
	}
	form, err := url.ParseQuery(string(msg.Body))
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(form))
	for n := range form {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(msg.URL)
	for _, n := range names {
		values := append([]string(nil), form[n]...)
		sort.Strings(values)
		for _, v := range values {
			b.WriteString(n)
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// messageSignature signs an HTTP message (RFC 9421) with label "sig1",
// created at msg.Timestamp, with the nonce msg.ID when given, over
// opts.Components (default @method, @authority, @path and, for a body,
// content-digest), adding a Content-Digest (RFC 9530) sha-256.
func messageSignature(key string, opts Options, msg Message) (http.Header, error) {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 {
		return nil, errors.New("an HTTP Message Signatures key is <alg>:<keyid>:<key>")
	}
	alg, keyID, material := parts[0], parts[1], parts[2]
	u, err := url.Parse(msg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("http-message-signatures needs the full URL")
	}
	h := http.Header{}
	digest := sha256.Sum256(msg.Body)
	h.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(digest[:])+":")
	components := opts.Components
	if len(components) == 0 {
		components = []string{"@method", "@authority", "@path"}
		if len(msg.Body) > 0 {
			components = append(components, "content-digest")
		}
	}
	method := msg.Method
	if method == "" {
		method = "POST"
	}
	var base strings.Builder
	quoted := make([]string, len(components))
	for i, c := range components {
		quoted[i] = strconv.Quote(c)
		var v string
		switch c {
		case "@method":
			v = method
		case "@authority":
			v = strings.ToLower(u.Host)
		case "@path":
			v = u.EscapedPath()
			if v == "" {
				v = "/"
			}
		case "@query":
			v = "?" + u.RawQuery
		case "@scheme":
			v = u.Scheme
		case "@target-uri":
			v = msg.URL
		case "content-digest":
			v = h.Get("Content-Digest")
		default:
			return nil, errors.New("this signer covers @method, @authority, @path, @query, @scheme, @target-uri and content-digest")
		}
		base.WriteString(quoted[i] + ": " + v + "\n")
	}
	params := "(" + strings.Join(quoted, " ") + ");created=" + unix(msg.Timestamp) + ";keyid=" + strconv.Quote(keyID) + ";alg=" + strconv.Quote(alg)
	if msg.ID != "" {
		params += ";nonce=" + strconv.Quote(msg.ID)
	}
	base.WriteString(`"@signature-params": ` + params)
	var sig []byte
	switch alg {
	case "hmac-sha256":
		secret, err := base64.StdEncoding.DecodeString(material)
		if err != nil {
			return nil, errors.New("the hmac-sha256 key is base64")
		}
		sig = mac("sha256", string(secret), []byte(base.String()))
	case "ed25519":
		seed, err := hex.DecodeString(material)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("the ed25519 signing key is a seed of 64 hex digits")
		}
		sig = ed25519.Sign(ed25519.NewKeyFromSeed(seed), []byte(base.String()))
	default:
		return nil, errors.New("use hmac-sha256 or ed25519")
	}
	h.Set("Signature-Input", "sig1="+params)
	h.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return h, nil
}
