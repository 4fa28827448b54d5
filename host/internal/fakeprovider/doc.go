// Package fakeprovider is an in-memory OAuth and API provider for tests.
//
// A Server behaves like a real third-party provider, quirks included, so
// connection flows, the refresh engine and the generic HTTP action can be
// tested end to end without leaving the machine. It speaks OAuth 2.0
// (authorization code with PKCE S256, refresh, client credentials, RFC 7009
// revocation), OAuth 1.0a in Trello's style (HMAC-SHA1 signatures) and API
// keys, and serves a small protected API.
//
// Quirks choose the provider's behaviour: client authentication style at the
// token endpoint (HTTP Basic or body), request and response encodings, a
// nested token object like Slack's authed_user, extra token metadata like
// Salesforce's instance_url, rotating refresh tokens and more. Switches such
// as FailNextRefresh, FailRefreshTransient and RevokeAll inject failures, and
// inspection methods (TokenRequests, Refreshes, Revoked, ...) let a test
// assert what a client really sent.
//
// A test starts one with New, which closes it when the test ends:
//
//	fp := fakeprovider.New(t, fakeprovider.Quirks{RequirePKCE: true, RotateRefresh: true})
//	cfg := oauth2.Config{
//		ClientID:     fp.ClientID,
//		ClientSecret: fp.ClientSecret,
//		Endpoint:     fp.Endpoint(),
//		RedirectURL:  "http://127.0.0.1/callback",
//	}
//
// Routes:
//
//	GET  /oauth/authorize          authorization (auto-approve, or a consent page with Quirks.Consent)
//	POST /oauth/authorize          consent decision (the page's form)
//	POST /oauth/token              authorization_code, refresh_token, client_credentials
//	POST /oauth/revoke             RFC 7009 revocation
//	POST /oauth1/request_token     OAuth 1.0a temporary credentials
//	GET  /oauth1/authorize         OAuth 1.0a authorization (redirects with oauth_verifier)
//	POST /oauth1/access_token      OAuth 1.0a token credentials
//	GET  /api/me                   who the token belongs to (bearer, OAuth 1.0a signature or Trello key+token)
//	GET  /api/items?page=N         paginated list
//	POST /api/echo                 echoes the JSON body
//	GET  /api/key-check            API key check (header, query or HTTP Basic)
//	GET  /_fake/stats              counters as JSON, for other processes
//	POST /_fake/{fail-next-refresh,fail-refresh-transient,revoke-all,expire-access-tokens}
//
// Every route is also served under "/p/{value}/": the value stands for a
// connection parameter templated into a descriptor's URLs (Shopify's shop,
// Zoho's region) and is recorded as PathParam; Quirks.PathParams limits the
// values accepted.
//
// Apps (NewApps, ListenApps) is a second fake: the provider APIs of the
// first-party triggers, each under its own prefix (Apps.BaseURL). Its
// webhook providers (Stripe, GitHub, Shopify, Linear, Slack) keep the
// registrations they receive and send signed events to them when told to
// (StripeEvent, GitHubEvent, ShopifyOrder, LinearEvent, SlackMessage, then
// Send; or POST /_fake/{provider}/emit), retries and disorder included;
// its polling providers (HubSpot, Drive, Gmail, Jira, Notion) serve change
// feeds that AddContact, AddFile, AddMessage, AddIssue and AddPage (or
// POST /_fake/{provider}/{items}) extend.
//
// All methods of Server and Apps are safe for concurrent use. The command
// in cmd/fakeprovider serves a Server (or, with -apps, an Apps) on a
// chosen address for tests that span several processes.
package fakeprovider
