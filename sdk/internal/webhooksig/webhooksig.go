// Package webhooksig verifies providers' webhook signatures. It depends on
// the standard library alone, so that both plugins (package provider) and
// pieces (package piece, compiled to WebAssembly) use it.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidSignature is wrapped by every failure.
var ErrInvalidSignature = errors.New("webhook signature invalid")

// DefaultTolerance is how far a signed timestamp (Stripe, Slack)
// may be from the verifier's clock when no tolerance is given: the
// providers' own recommendation of five minutes.
const DefaultTolerance = 5 * time.Minute

// The Verify functions check a provider's webhook signature over the raw
// body of a request, with the signing secret (from the registration Enable
// returned, or the connection). Comparisons run in constant time. Every
// failure wraps ErrInvalidSignature and names no secret.

func sigError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSignature}, args...)...)
}

func hmacSHA256(secret string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// checkTimestamp refuses a Unix timestamp (seconds) further than
// tolerance from now, either way.
func checkTimestamp(ts string, tolerance time.Duration, now time.Time) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return sigError("timestamp %q is not a number", ts)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if now.IsZero() {
		now = time.Now()
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return sigError("timestamp outside the tolerance of %s", tolerance)
	}
	return nil
}

// Stripe checks a Stripe-Signature header ("t=…,v1=…[,v1=…]"): one
// v1 must be the HMAC-SHA256 of "t.body" with the endpoint's secret
// (whsec_…), and t within tolerance of now (DefaultTolerance
// when tolerance is zero, the clock when now is zero).
func Stripe(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	v := h.Get("Stripe-Signature")
	if v == "" {
		return sigError("no Stripe-Signature header")
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return sigError("Stripe-Signature carries no timestamp or no v1 signature")
	}
	want := hmacSHA256(secret, []byte(ts), []byte("."), body)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared, so the time taken does not say
		// which one matched.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return sigError("no v1 signature matches")
	}
	return checkTimestamp(ts, tolerance, now)
}

// GitHub checks an X-Hub-Signature-256 header ("sha256=<hex>"): the
// HMAC-SHA256 of the body with the webhook's secret.
func GitHub(h http.Header, body []byte, secret string) error {
	v := h.Get("X-Hub-Signature-256")
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return sigError("no X-Hub-Signature-256 header")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, hmacSHA256(secret, body)) {
		return sigError("X-Hub-Signature-256 does not match")
	}
	return nil
}

// Shopify checks an X-Shopify-Hmac-Sha256 header: the base64 of the
// HMAC-SHA256 of the body with the app's client secret.
func Shopify(h http.Header, body []byte, secret string) error {
	v := h.Get("X-Shopify-Hmac-Sha256")
	if v == "" {
		return sigError("no X-Shopify-Hmac-Sha256 header")
	}
	got, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !hmac.Equal(got, hmacSHA256(secret, body)) {
		return sigError("X-Shopify-Hmac-Sha256 does not match")
	}
	return nil
}

// Slack checks Slack's request signing: X-Slack-Signature
// ("v0=<hex>") must be the HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:body"
// with the app's signing secret, and the timestamp within tolerance of now
// (defaults as for Stripe).
func Slack(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	ts := h.Get("X-Slack-Request-Timestamp")
	hexSig, ok := strings.CutPrefix(h.Get("X-Slack-Signature"), "v0=")
	if ts == "" || !ok {
		return sigError("no X-Slack-Signature or X-Slack-Request-Timestamp header")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, hmacSHA256(secret, []byte("v0:"+ts+":"), body)) {
		return sigError("X-Slack-Signature does not match")
	}
	return checkTimestamp(ts, tolerance, now)
}
