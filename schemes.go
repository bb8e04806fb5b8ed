package funcauth

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// schemeSpec describes a signature scheme: how to build it from its
// configuration, how its keys are written, its provider's default
// tolerance and the scheme-specific fields it reads.
type schemeSpec struct {
	name      string // as Signature.Scheme gives it
	build     func(cfg *Signature) (scheme, error)
	keyFormat keyFormat
	tolerance time.Duration
	fields    []string // json names of the optional fields it uses
	// timestamped schemes sign a time, held to the tolerance.
	timestamped bool
	// bodyOnly schemes sign the body and nothing else: an empty body
	// has one signature per key, refused unless allow_empty_body.
	bodyOnly bool
}

// defaultTolerance is the timestamp tolerance of most providers, and the
// replay window of schemes without a timestamp.
const defaultTolerance = 5 * time.Minute

// schemeTable lists the schemes, by the name Signature.Scheme gives, in
// the documentation's order (a function, not a variable: Yaegi does not
// order package-level initialisation across files).
func schemeTable() []schemeSpec {
	return []schemeSpec{
		{name: "faas-cli", build: newFaaSCLIScheme, keyFormat: keyRaw, tolerance: defaultTolerance, fields: []string{"header", "algorithms", "allow_empty_body"}, bodyOnly: true},
		{name: "github", build: newGitHubScheme, keyFormat: keyRaw, tolerance: defaultTolerance, fields: []string{"algorithms", "allow_empty_body"}, bodyOnly: true},
		{name: "generic", build: newGenericScheme, keyFormat: keyRaw, tolerance: defaultTolerance, fields: []string{"header", "algorithms", "encoding", "prefix", "allow_empty_body"}, bodyOnly: true},
		{name: "standard-webhooks", build: newStandardWebhooksScheme, keyFormat: keyWebhookSecret, tolerance: defaultTolerance, timestamped: true},
		{name: "svix", build: newSvixScheme, keyFormat: keyWebhookSecret, tolerance: defaultTolerance, timestamped: true},
		{name: "stripe", build: newStripeScheme, keyFormat: keyRaw, tolerance: defaultTolerance, timestamped: true},
		{name: "slack", build: newSlackScheme, keyFormat: keyRaw, tolerance: defaultTolerance, timestamped: true},
		{name: "shopify", build: newShopifyScheme, keyFormat: keyRaw, tolerance: defaultTolerance, fields: []string{"allow_empty_body"}, bodyOnly: true},
		{name: "gitlab", build: newGitLabScheme, keyFormat: keyRaw, tolerance: defaultTolerance},
		{name: "twilio", build: newTwilioScheme, keyFormat: keyRaw, tolerance: defaultTolerance, fields: []string{"base_url"}},
		{name: "discord", build: newDiscordScheme, keyFormat: keyEd25519Public, tolerance: defaultTolerance, timestamped: true},
		{name: "http-message-signatures", build: newHTTPMessageSignaturesScheme, keyFormat: keyMessageSig, tolerance: defaultTolerance, fields: []string{"algorithms", "components"}, timestamped: true},
	}
}

// SchemeNames lists the signature schemes, in the documentation's order.
func SchemeNames() []string {
	table := schemeTable()
	names := make([]string, 0, len(table))
	for _, spec := range table {
		names = append(names, spec.name)
	}
	return names
}

// setSchemeFields returns the json names of the scheme-specific fields cfg sets.
func setSchemeFields(cfg *Signature) []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add("header", cfg.Header != "")
	add("algorithms", len(cfg.Algorithms) > 0)
	add("encoding", cfg.Encoding != "")
	add("prefix", cfg.Prefix != "")
	add("base_url", cfg.BaseURL != "")
	add("components", len(cfg.Components) > 0)
	add("allow_empty_body", cfg.AllowEmptyBody)
	return set
}

// newVerifier compiles signatures[i].
func newVerifier(cfg *Signature, field string, lookupEnv func(string) (string, bool), now time.Time) (*verifier, error) {
	names := SchemeNames()
	if cfg.Scheme == "" {
		return nil, fieldError(field+".scheme", "is empty: use one of "+strings.Join(names, ", "))
	}
	table := schemeTable()
	var spec *schemeSpec
	for i := range table {
		if table[i].name == cfg.Scheme {
			spec = &table[i]
		}
	}
	if spec == nil {
		return nil, fieldError(field+".scheme", "unknown scheme "+strconv.Quote(cfg.Scheme)+suggestion(cfg.Scheme, names)+": use one of "+strings.Join(names, ", "))
	}
	for _, name := range setSchemeFields(cfg) {
		used := false
		for _, f := range spec.fields {
			used = used || f == name
		}
		if !used {
			return nil, fieldError(field+"."+name, "is not used by scheme "+cfg.Scheme)
		}
	}
	s, err := spec.build(cfg)
	if err != nil {
		// The scheme names its own field ("algorithms: …"): put the
		// verifier's path before it, with no message of our own after.
		return nil, errors.New(field + "." + strings.TrimPrefix(err.Error(), field+"."))
	}
	v := &verifier{name: cfg.Name, scheme: s, tolerance: spec.tolerance, timestamped: spec.timestamped,
		refuseEmptyBody: spec.bodyOnly && !cfg.AllowEmptyBody}
	if v.name == "" {
		v.name = cfg.Scheme
	}
	v.presence = s.headers()
	if _, ok := s.(*httpMessageSignatures); ok {
		v.presence = append(v.presence, "Signature-Input")
	}
	if cfg.Tolerance != "" {
		d, err := parseDuration(cfg.Tolerance)
		if err != nil {
			return nil, fieldError(field+".tolerance", err.Error())
		}
		if d == 0 && spec.timestamped {
			return nil, fieldError(field+".tolerance", "must be positive: "+cfg.Scheme+" signs a timestamp, which 0s would never hold to any age")
		}
		v.tolerance = d
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	v.keys, err = newKeyring(cfg, field, spec.keyFormat, lookupEnv, now)
	if err != nil {
		return nil, err
	}
	v.window = v.tolerance
	if v.timestamped {
		v.window = 2 * v.tolerance
	}
	v.windowArg = respBulk(strconv.FormatInt(int64((v.window+time.Millisecond-1)/time.Millisecond), 10))
	return v, nil
}
