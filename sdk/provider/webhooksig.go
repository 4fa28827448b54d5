package provider

import (
	"net/http"
	"time"

	"github.com/atomhq/atom/sdk/internal/webhooksig"
)

// DefaultSignatureTolerance is how far a signed timestamp (Stripe, Slack)
// may be from the verifier's clock when no tolerance is given: the
// providers' own recommendation of five minutes.
const DefaultSignatureTolerance = webhooksig.DefaultTolerance

// The Verify functions check a provider's webhook signature over the raw
// body of a request, with the signing secret (from the registration Enable
// returned, or the operator's app). Comparisons run in constant time. Every
// failure wraps ErrInvalidSignature and names no secret. Package piece
// offers the same functions to pieces.

// VerifyStripe checks a Stripe-Signature header ("t=…,v1=…[,v1=…]"): one
// v1 must be the HMAC-SHA256 of "t.body" with the endpoint's secret
// (whsec_…), and t within tolerance of now (DefaultSignatureTolerance
// when tolerance is zero, the clock when now is zero).
func VerifyStripe(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	return webhooksig.Stripe(h, body, secret, tolerance, now)
}

// VerifyGitHub checks an X-Hub-Signature-256 header ("sha256=<hex>"): the
// HMAC-SHA256 of the body with the webhook's secret.
func VerifyGitHub(h http.Header, body []byte, secret string) error {
	return webhooksig.GitHub(h, body, secret)
}

// VerifyShopify checks an X-Shopify-Hmac-Sha256 header: the base64 of the
// HMAC-SHA256 of the body with the app's client secret.
func VerifyShopify(h http.Header, body []byte, secret string) error {
	return webhooksig.Shopify(h, body, secret)
}

// VerifySlack checks Slack's request signing: X-Slack-Signature
// ("v0=<hex>") must be the HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:body"
// with the app's signing secret, and the timestamp within tolerance of now
// (defaults as for VerifyStripe).
func VerifySlack(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	return webhooksig.Slack(h, body, secret, tolerance, now)
}
