package provider_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// The expected signatures below were computed outside this package
// (openssl dgst -sha256 -hmac) or are the providers' published examples.

func TestVerifyGitHubPublishedVector(t *testing.T) {
	// GitHub's documentation example.
	body := []byte("Hello, World!")
	secret := "It's a Secret to Everybody"
	good := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if err := provider.VerifyGitHub(http.Header{"X-Hub-Signature-256": {good}}, body, secret); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, h := range map[string]http.Header{
		"missing":      {},
		"other secret": {"X-Hub-Signature-256": {"sha256=0000000000000000000000000000000000000000000000000000000000000000"}},
		"sha1 form":    {"X-Hub-Signature-256": {"sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
		"not hex":      {"X-Hub-Signature-256": {"sha256=zz"}},
	} {
		if err := provider.VerifyGitHub(h, body, secret); !errors.Is(err, provider.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
		}
	}
	if err := provider.VerifyGitHub(http.Header{"X-Hub-Signature-256": {good}}, []byte("Hello, World?"), secret); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("tampered body accepted: %v", err)
	}
	if err := provider.VerifyGitHub(http.Header{"X-Hub-Signature-256": {good}}, body, "another secret"); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("wrong secret accepted: %v", err)
	}
}

func TestVerifySlackPublishedVector(t *testing.T) {
	// Slack's documentation example ("Verifying requests from Slack").
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	secret := "8f742231b10e8888abcd99yyyzzz85a5"
	h := http.Header{
		"X-Slack-Request-Timestamp": {"1531420618"},
		"X-Slack-Signature":         {"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
	}
	signedAt := time.Unix(1531420618, 0)
	if err := provider.VerifySlack(h, body, secret, 0, signedAt.Add(time.Minute)); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	if err := provider.VerifySlack(h, body, secret, 0, signedAt.Add(6*time.Minute)); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("stale timestamp accepted: %v", err)
	}
	if err := provider.VerifySlack(h, body, secret, time.Hour, signedAt.Add(6*time.Minute)); err != nil {
		t.Errorf("timestamp within a wider tolerance refused: %v", err)
	}
	if err := provider.VerifySlack(h, body, secret, 0, signedAt.Add(-6*time.Minute)); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("future timestamp accepted: %v", err)
	}
	// The timestamp is signed: replaying the signature with a fresh one fails.
	h2 := h.Clone()
	h2.Set("X-Slack-Request-Timestamp", "1531420999")
	if err := provider.VerifySlack(h2, body, secret, 0, time.Unix(1531420999, 0)); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("signature replayed with another timestamp accepted: %v", err)
	}
	if err := provider.VerifySlack(http.Header{}, body, secret, 0, signedAt); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("missing headers accepted: %v", err)
	}
}

func TestVerifyStripe(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"charge.succeeded"}`)
	secret := "whsec_test_secret"
	// printf '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_test_secret
	sig := "c0475716eb2200f1fe97fcf35a3c05d1fd4f8ba9a07a596730c8d18bb87c0672"
	at := time.Unix(1700000000, 0)
	ok := []string{
		"t=1700000000,v1=" + sig,
		"t=1700000000,v1=" + sig + ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
		// a rolled secret: Stripe sends one v1 per active secret
		"t=1700000000,v1=00ff,v1=" + sig,
	}
	for _, v := range ok {
		if err := provider.VerifyStripe(http.Header{"Stripe-Signature": {v}}, body, secret, 0, at.Add(30*time.Second)); err != nil {
			t.Errorf("%q refused: %v", v, err)
		}
	}
	bad := map[string]string{
		"missing":         "",
		"no timestamp":    "v1=" + sig,
		"no v1":           "t=1700000000,v0=" + sig,
		"other time":      "t=1700000001,v1=" + sig,
		"forged":          "t=1700000000,v1=" + sig[:62] + "00",
		"garbage":         "t=1700000000,v1=not-hex",
		"not a timestamp": "t=soon,v1=" + sig,
	}
	for name, v := range bad {
		h := http.Header{}
		if v != "" {
			h.Set("Stripe-Signature", v)
		}
		if err := provider.VerifyStripe(h, body, secret, 0, at); !errors.Is(err, provider.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
		}
	}
	good := http.Header{"Stripe-Signature": {"t=1700000000,v1=" + sig}}
	if err := provider.VerifyStripe(good, body, secret, 0, at.Add(5*time.Minute+time.Second)); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("stale timestamp accepted: %v", err)
	}
	if err := provider.VerifyStripe(good, body, secret, 10*time.Minute, at.Add(6*time.Minute)); err != nil {
		t.Errorf("within a custom tolerance refused: %v", err)
	}
	if err := provider.VerifyStripe(good, append(body, ' '), secret, 0, at); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("tampered body accepted: %v", err)
	}
}

func TestVerifyShopify(t *testing.T) {
	body := []byte(`{"id":820982911946154508}`)
	secret := "shpss_test"
	// printf '<body>' | openssl dgst -sha256 -hmac shpss_test -binary | base64
	good := "3JxXO8Lul52iD5+qb1FHtoXK8vDwPbXpi8eB+yETk5I="
	if err := provider.VerifyShopify(http.Header{"X-Shopify-Hmac-Sha256": {good}}, body, secret); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, v := range map[string]string{
		"missing": "",
		"forged":  "AAAAO8Lul52iD5+qb1FHtoXK8vDwPbXpi8eB+yETk5I=",
		"hex":     "dc9c573bc2ee979da20f9faa6f5147b6",
		"garbage": "%%%",
	} {
		h := http.Header{}
		if v != "" {
			h.Set("X-Shopify-Hmac-Sha256", v)
		}
		if err := provider.VerifyShopify(h, body, secret); !errors.Is(err, provider.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
		}
	}
	if err := provider.VerifyShopify(http.Header{"X-Shopify-Hmac-Sha256": {good}}, body, "other"); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Errorf("wrong secret accepted: %v", err)
	}
}
