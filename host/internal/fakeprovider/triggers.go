package fakeprovider

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Apps is a fake of the provider APIs the first-party triggers use, each
// under its own prefix (BaseURL): Stripe's webhook endpoints, GitHub's
// repository hooks, Shopify's webhooks, Linear's webhookCreate and
// webhookDelete mutations, Slack's Events API, HubSpot's contact search,
// Drive's files.list, Gmail's messages.list and get, Jira's JQL search and
// Notion's database query.
//
// The webhook providers keep the registrations they receive and, when told
// to (Emit methods, or POST /_fake/{provider}/emit), send events to them
// signed as the real provider signs them: Stripe-Signature with a
// timestamp, X-Hub-Signature-256, X-Shopify-Hmac-Sha256 (base64, with the
// app's client secret), Linear-Signature and Slack's v0 signature. Quirks
// come along: GitHub pings a hook as soon as it is created, Slack checks
// a new Request URL with a url_verification challenge, and EmitOptions
// repeat deliveries (provider retries) and send them out of order.
//
// The polling providers serve change feeds: an item added through the
// Add methods (or POST /_fake/{provider}/{items}) is what the next query
// returns, filtered, sorted and paged as the real API does, with the real
// API's grain (Notion's minute-rounded last_edited_time, Jira's JQL dates
// to the minute in the user's time zone).
//
// Every API accepts Token, in the header its provider uses. Apps is safe
// for concurrent use.
type Apps struct {
	// URL is the base URL of the server.
	URL string
	// Token is the access token or API key every API accepts.
	Token string
	// ShopifySecret is the app client secret Shopify signs webhooks with.
	ShopifySecret string
	// SlackSigningSecret is the Slack app's signing secret.
	SlackSigningSecret string
	// SlackTeam is the workspace id Slack events carry.
	SlackTeam string
	// JiraCloudID is the one Jira site's cloud id; JiraZone is the time
	// zone of its user, in which JQL dates are read.
	JiraCloudID string
	JiraZone    *time.Location

	ts     *httptest.Server
	client *http.Client

	mu       sync.Mutex
	seq      int
	hooks    []*Hook
	slackURL string
	sent     []Delivery
	reqs     []APIRequest
	contacts []*feedItem
	files    []*feedItem
	messages []*feedItem
	issues   []*feedItem
	pages    []*feedItem
}

// Hook is one webhook registration a provider of Apps holds.
type Hook struct {
	// Provider is stripe, github, shopify or linear.
	Provider string
	ID       string
	URL      string
	// Secret signs the deliveries (Stripe's whsec_…, the secret GitHub
	// and Linear were given); Shopify signs with ShopifySecret.
	Secret string
	// Events are Stripe's enabled_events, GitHub's events, Shopify's
	// topic or Linear's resource types.
	Events []string
	// Repo is GitHub's owner/repo; Team is Linear's team id, if any.
	Repo string
	Team string
	// Deleted is set when the registration was deleted.
	Deleted bool
}

// Delivery is one webhook request a provider of Apps sends.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
	// Status is the receiver's answer (0 when it could not be reached),
	// Reply its body.
	Status int
	Reply  []byte
}

// EmitOptions shape how an event is delivered.
type EmitOptions struct {
	// Repeat sends every delivery this many times (the provider's
	// retries); once when zero.
	Repeat int
	// Reverse sends the deliveries of one call last first.
	Reverse bool
	// SignedAt is the time signed (Stripe, Slack) or stamped (Linear);
	// now when zero. An old time makes a stale delivery.
	SignedAt time.Time
	// Forge signs with a wrong secret.
	Forge bool
}

// feedItem is one item of a polling provider's change feed.
type feedItem struct {
	id        string
	owner     string // Drive folder, Notion database, Jira project
	created   time.Time
	updated   time.Time
	fields    map[string]string
	trashed   bool
	sortOrder int
}

// NewApps starts an Apps server for a test and closes it when the test
// ends.
func NewApps(t testing.TB) *Apps {
	t.Helper()
	a, err := ListenApps("127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakeprovider: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// ListenApps starts an Apps server on addr. The caller must Close it.
func ListenApps(addr string) (*Apps, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	a := &Apps{
		Token:              "tok_" + randomString(18),
		ShopifySecret:      "shpss_" + randomString(16),
		SlackSigningSecret: hex.EncodeToString([]byte(randomString(12))),
		SlackTeam:          "T0" + strings.ToUpper(hex.EncodeToString([]byte(randomString(3)))),
		JiraCloudID:        "11223344-a1b2-3b33-c444-def123456789",
		JiraZone:           time.FixedZone("UTC-5", -5*3600),
		client:             &http.Client{Timeout: 10 * time.Second},
	}
	ts := httptest.NewUnstartedServer(a.routes())
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	a.ts, a.URL = ts, ts.URL
	return a, nil
}

// AppsConfig is what GET /_fake/config reports, for tests whose fake runs
// in another process.
type AppsConfig struct {
	Token              string            `json:"token"`
	ShopifySecret      string            `json:"shopify_secret"`
	SlackSigningSecret string            `json:"slack_signing_secret"`
	SlackTeam          string            `json:"slack_team"`
	JiraCloudID        string            `json:"jira_cloud_id"`
	NotionDatabase     string            `json:"notion_database"`
	BaseURLs           map[string]string `json:"base_urls"`
}

// Config returns the fake's settings and the base URL of each provider.
func (a *Apps) Config() AppsConfig {
	c := AppsConfig{Token: a.Token, ShopifySecret: a.ShopifySecret, SlackSigningSecret: a.SlackSigningSecret,
		SlackTeam: a.SlackTeam, JiraCloudID: a.JiraCloudID, NotionDatabase: NotionDatabase, BaseURLs: map[string]string{}}
	for _, p := range []string{"stripe", "github", "slack", "shopify", "linear", "hubspot", "google-drive", "google-mail", "jira", "notion"} {
		c.BaseURLs[p] = a.BaseURL(p)
	}
	return c
}

// Close stops the server.
func (a *Apps) Close() { a.ts.Close() }

// BaseURL is the API base URL of provider (stripe, github, slack, shopify,
// linear, hubspot, google-drive, google-mail, jira, notion) on this
// server: what the host resolves the provider's base URL to.
func (a *Apps) BaseURL(provider string) string {
	switch provider {
	case "google-drive", "google-mail":
		return a.URL + "/google"
	}
	return a.URL + "/" + provider
}

func (a *Apps) routes() http.Handler {
	mux := http.NewServeMux()
	a.hookRoutes(mux)
	a.feedRoutes(mux)
	mux.HandleFunc("GET /_fake/config", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, a.Config()) })
	mux.HandleFunc("GET /_fake/hooks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, a.Hooks()) })
	mux.HandleFunc("GET /_fake/deliveries", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, a.Deliveries()) })
	return mux
}

func (a *Apps) nextID() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	return a.seq
}

// record keeps one API call and answers whether it authenticated. The
// token is read from the header the provider uses.
func (a *Apps) record(r *http.Request, provider string) bool {
	var tok string
	h := r.Header.Get("Authorization")
	switch provider {
	case "shopify":
		tok = r.Header.Get("X-Shopify-Access-Token")
	case "linear":
		tok = strings.TrimPrefix(h, "Bearer ")
	case "stripe":
		if u, _, ok := r.BasicAuth(); ok {
			tok = u
		} else {
			tok, _ = strings.CutPrefix(h, "Bearer ")
		}
	case "github":
		if t, ok := strings.CutPrefix(h, "token "); ok {
			tok = t
		} else {
			tok, _ = strings.CutPrefix(h, "Bearer ")
		}
	default:
		tok, _ = strings.CutPrefix(h, "Bearer ")
	}
	ok := tok != "" && equal(tok, a.Token)
	rec := APIRequest{Method: r.Method, Path: r.URL.Path, Token: tok, Status: http.StatusOK}
	if ok {
		rec.Auth = "bearer"
	} else {
		rec.Status = http.StatusUnauthorized
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, rec)
	a.mu.Unlock()
	return ok
}

// Requests returns the API calls received so far, in order.
func (a *Apps) Requests() []APIRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]APIRequest(nil), a.reqs...)
}

// Hooks returns the webhook registrations, deleted ones included.
func (a *Apps) Hooks() []Hook {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Hook, 0, len(a.hooks))
	for _, h := range a.hooks {
		out = append(out, *h)
	}
	return out
}

// Deliveries returns the webhook requests sent so far, in order.
func (a *Apps) Deliveries() []Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Delivery(nil), a.sent...)
}

func (a *Apps) activeHooks(provider string, match func(*Hook) bool) []Hook {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Hook
	for _, h := range a.hooks {
		if h.Provider == provider && !h.Deleted && match(h) {
			out = append(out, *h)
		}
	}
	return out
}

// Send posts ds to their URLs as o says (repeated, reversed) and returns
// them with the receivers' answers, in the order sent.
func (a *Apps) Send(ds []Delivery, o EmitOptions) []Delivery {
	n := max(o.Repeat, 1)
	var order []Delivery
	for i := range ds {
		d := ds[i]
		if o.Reverse {
			d = ds[len(ds)-1-i]
		}
		for try := range n {
			if try > 0 && d.Header.Get("X-Slack-Signature") != "" {
				// Slack marks its retries; the signature does not cover it.
				d.Header = d.Header.Clone()
				d.Header.Set("X-Slack-Retry-Num", itoa(try))
				d.Header.Set("X-Slack-Retry-Reason", "http_timeout")
			}
			order = append(order, d)
		}
	}
	out := make([]Delivery, 0, len(order))
	for _, d := range order {
		out = append(out, a.deliver(d))
	}
	return out
}

func (a *Apps) deliver(d Delivery) Delivery {
	req, err := http.NewRequest(http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err == nil {
		req.Header = d.Header.Clone()
		var resp *http.Response
		if resp, err = a.client.Do(req); err == nil {
			d.Status = resp.StatusCode
			d.Reply, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
	}
	a.mu.Lock()
	a.sent = append(a.sent, d)
	a.mu.Unlock()
	return d
}

func signedAt(o EmitOptions) time.Time {
	if o.SignedAt.IsZero() {
		return time.Now()
	}
	return o.SignedAt
}

func forged(secret string, o EmitOptions) string {
	if o.Forge {
		return secret + "-forged"
	}
	return secret
}

func hmacHex(secret string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func hmacBase64(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}, "User-Agent": {"fakeprovider"}}
}

// readJSON decodes a request body of at most 1 MiB into v.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func itoa(n int) string { return strconv.Itoa(n) }
