// Package providers checks funcauth against the webhook providers' own
// SDKs: what Stripe, Svix and Standard Webhooks sign with their libraries
// funcauth accepts, and what funcauth's test signer (internal/sign, which
// the conformance suite signs with) produces the providers' verifiers
// accept: Slack's, Discord's and Twilio's.
package providers

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/slack-go/slack"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v82/webhook"
	svix "github.com/svix/svix-webhooks/go"
	twilioclient "github.com/twilio/twilio-go/client"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/sign"
)

// check sends a request through a guard with one verifier and reports
// whether it was accepted.
func check(t *testing.T, sig funcauth.Signature, r *http.Request) *funcauth.Decision {
	t.Helper()
	g, err := funcauth.New(&funcauth.Config{
		Rules:      []funcauth.Rule{{Path: "*", Require: "signature"}},
		Signatures: []funcauth.Signature{sig},
	}, funcauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := g.Check(r, "192.0.2.1")
	t.Cleanup(d.Close)
	return d
}

func post(target string, body []byte, h http.Header) *http.Request {
	r := httptest.NewRequest("POST", target, bytes.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}

func TestStripeGoSignatures(t *testing.T) {
	const secret = "whsec_stripe_endpoint_secret"
	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`)
	now := time.Now()
	// stripe-go's own signing, as its GenerateTestSignedPayload writes the header.
	header := "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(now, body, secret))
	if d := check(t, funcauth.Signature{Scheme: "stripe", Keys: []string{secret}}, post("/function/stripe", body, http.Header{"Stripe-Signature": {header}})); !d.Allowed {
		t.Fatalf("stripe-go's signature refused: %s %s", d.Reason, d.Detail)
	}
	ours, _ := sign.Headers("stripe", secret, sign.Options{}, sign.Message{Body: body, Timestamp: now})
	if ours.Get("Stripe-Signature") != header {
		t.Errorf("internal/sign writes %q, stripe-go %q", ours.Get("Stripe-Signature"), header)
	}
	if err := webhook.ValidatePayload(body, ours.Get("Stripe-Signature"), secret); err != nil {
		t.Errorf("stripe-go refuses internal/sign: %v", err)
	}
	old := now.Add(-10 * time.Minute)
	stale := "t=" + strconv.FormatInt(old.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(old, body, secret))
	if d := check(t, funcauth.Signature{Scheme: "stripe", Keys: []string{secret}}, post("/", body, http.Header{"Stripe-Signature": {stale}})); d.Reason != funcauth.ReasonExpired {
		t.Errorf("a 10-minute-old stripe-go signature: %s", d.Reason)
	}
}

func TestSvixAndStandardWebhooksLibraries(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"event":"invoice.paid"}`)
	now := time.Now()

	sv, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	svSig, err := sv.Sign("msg_svix_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Svix-Id": {"msg_svix_1"}, "Svix-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Svix-Signature": {svSig}}
	if d := check(t, funcauth.Signature{Scheme: "svix", Keys: []string{secret}}, post("/", body, h)); !d.Allowed {
		t.Fatalf("svix-webhooks' signature refused: %s %s", d.Reason, d.Detail)
	}

	sw, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	swSig, err := sw.Sign("msg_sw_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{"Webhook-Id": {"msg_sw_1"}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Webhook-Signature": {swSig}}
	if d := check(t, funcauth.Signature{Scheme: "standard-webhooks", Keys: []string{secret}}, post("/", body, h)); !d.Allowed {
		t.Fatalf("standard-webhooks' signature refused: %s %s", d.Reason, d.Detail)
	}
	ours, _ := sign.Headers("standard-webhooks", secret, sign.Options{}, sign.Message{Body: body, Timestamp: now, ID: "msg_sw_1"})
	if err := sw.Verify(body, ours); err != nil {
		t.Errorf("standard-webhooks refuses internal/sign: %v", err)
	}
}

func TestSlackVerifierAcceptsOurSigner(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	body := []byte("token=x&team_id=T1&command=%2Fdeploy&text=prod")
	h, err := sign.Headers("slack", secret, sign.Options{}, sign.Message{Body: body, Timestamp: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := slack.NewSecretsVerifier(h, secret)
	if err != nil {
		t.Fatal(err)
	}
	v.Write(body)
	if err := v.Ensure(); err != nil {
		t.Fatalf("slack-go refuses internal/sign: %v", err)
	}
	if d := check(t, funcauth.Signature{Scheme: "slack", Keys: []string{secret}}, post("/", body, h)); !d.Allowed {
		t.Fatalf("funcauth refuses what slack-go accepts: %s %s", d.Reason, d.Detail)
	}
}

func TestDiscordVerifierAcceptsOurSigner(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	body := []byte(`{"type":1,"id":"1"}`)
	h, err := sign.Headers("discord", hex.EncodeToString(seed), sign.Options{}, sign.Message{Body: body, Timestamp: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !discordgo.VerifyInteraction(post("/", body, h), pub) {
		t.Fatal("discordgo refuses internal/sign")
	}
	if d := check(t, funcauth.Signature{Scheme: "discord", Keys: []string{hex.EncodeToString(pub)}}, post("/", body, h)); !d.Allowed {
		t.Fatalf("funcauth refuses what discordgo accepts: %s %s", d.Reason, d.Detail)
	}
	h.Set("X-Signature-Ed25519", hex.EncodeToString(make([]byte, ed25519.SignatureSize)))
	if d := check(t, funcauth.Signature{Scheme: "discord", Keys: []string{hex.EncodeToString(pub)}}, post("/", body, h)); d.Status != http.StatusUnauthorized {
		t.Fatalf("Discord's invalid-signature probe must get 401, got %d", d.Status)
	}
}

func TestTwilioValidatorAcceptsOurSigner(t *testing.T) {
	const token = "twilio-auth-token"
	form := url.Values{"CallSid": {"CA123"}, "From": {"+14158675309"}, "Digits": {"1234"}}
	body := []byte(form.Encode())
	u := "https://fn.example.com/function/twilio?foo=1"
	h, err := sign.Headers("twilio", token, sign.Options{}, sign.Message{URL: u, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	v := twilioclient.NewRequestValidator(token)
	if !v.Validate(u, params, h.Get("X-Twilio-Signature")) {
		t.Fatal("twilio-go refuses internal/sign")
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	r := post("/function/twilio?foo=1", body, h)
	r.Host = "fn.example.com"
	if d := check(t, funcauth.Signature{Scheme: "twilio", Keys: []string{token}, BaseURL: "https://fn.example.com"}, r); !d.Allowed {
		t.Fatalf("funcauth refuses what twilio-go accepts: %s %s", d.Reason, d.Detail)
	}
}
