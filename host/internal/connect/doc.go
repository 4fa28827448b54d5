// Package connect runs Atom's connection flows and keeps credentials
// fresh.
//
// A Service connects tenants to providers the way each catalog descriptor
// says: OAuth 2.0 authorization code (PKCE S256 where allowed), OAuth 2.0
// client credentials, OAuth 1.0a (HMAC-SHA1), API key, basic and custom
// credential fields. Provider quirks are data in the descriptor: token
// endpoint client authentication (basic or body), form or JSON token
// bodies, nested token paths (Slack's authed_user), metadata kept from the
// token response (Salesforce's instance_url), scope separators, extra
// parameters and connection parameters interpolated into URLs.
//
// Browser flows are two calls: StartConnect returns the provider URL and
// stores a single-use state (only its SHA-256, with the PKCE verifier
// encrypted beside it); Callback consumes the state, exchanges the code and
// stores the connection. Every secret is sealed by the vault key ring,
// bound to its row.
//
// Credentials returns what an execution needs, refreshing first when the
// token expires within the skew window; ForceRefresh serves a 401. The
// refresh engine runs one refresh per connection at a time: callers in a
// process share a singleflight, processes serialize on an advisory lock
// (Postgres) that no transaction holds, and the tokens a provider issues
// are written in a short transaction of their own with compare-and-swap,
// retried and spooled encrypted when the database fails (spool.go), so a
// rotated refresh token is never dropped. Failures mark the
// connection expired or revoked with the provider's reason, or back off
// after transient errors; each change of state emits a signed webhook.
// RefreshWorker and SweepWorker run the proactive refresh on River.
//
// Errors meant for users are *Error values with a short Code (for
// /integrations?error=<code> redirects) and a Message (for JSON bodies).
package connect
