package connect_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

const baseURL = "http://atom.test"

// clock is a settable clock shared by a test's services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// catalogMap is a hand-built catalog.
type catalogMap map[string]*catalog.Descriptor

func (m catalogMap) Get(id string) (*catalog.Descriptor, bool) { d, ok := m[id]; return d, ok }

// hostRecorder routes every *.fake.test host to the fake provider and
// records the host names asked for, so templated subdomains are visible.
type hostRecorder struct {
	mu    sync.Mutex
	hosts []string
}

func (h *hostRecorder) seen(host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.hosts {
		if x == host {
			return true
		}
	}
	return false
}

func httpClient(fp *fakeprovider.Server, rec *hostRecorder) *http.Client {
	fpAddr := strings.TrimPrefix(fp.URL, "http://")
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if strings.HasSuffix(host, ".fake.test") {
				rec.mu.Lock()
				rec.hosts = append(rec.hosts, host)
				rec.mu.Unlock()
				addr = fpAddr
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fakeDescriptor describes the fake provider as a catalog entry.
func fakeDescriptor(id string, fp *fakeprovider.Server) *catalog.Descriptor {
	return &catalog.Descriptor{
		ID: id, Name: "Fake", Connectable: true, Implementations: []string{"generic"},
		Auth: catalog.Auth{
			Kind:             catalog.AuthOAuth2,
			AuthorizationURL: fp.URL + "/oauth/authorize",
			TokenURL:         fp.URL + "/oauth/token",
			RevocationURL:    fp.URL + "/oauth/revoke",
			Scopes:           []string{"read", "write"},
			TokenAuth:        "body",
			TokenBody:        "form",
		},
		API: catalog.API{BaseURL: fp.URL + "/api"},
	}
}

// env is one test's world: a store, a fake provider, a service.
type env struct {
	t      *testing.T
	st     store.Store
	fp     *fakeprovider.Server
	cat    catalogMap
	clock  *clock
	hosts  *hostRecorder
	client *http.Client
	kr     *vault.Keyring
	vars   map[string]string
	svc    *connect.Service
	hooks  *webhook.Sender
	tenant string
}

func newEnv(t *testing.T, st store.Store, q fakeprovider.Quirks, mutate func(*catalog.Descriptor, *fakeprovider.Server)) *env {
	t.Helper()
	if q.RedirectURI == "" {
		q.RedirectURI = baseURL + "/api/integrations/fake/callback"
	}
	fp := fakeprovider.New(t, q)
	kr, err := vault.New(vault.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, fp: fp, clock: newClock(), hosts: &hostRecorder{}, kr: kr,
		cat:  catalogMap{},
		vars: map[string]string{"FAKE_CLIENT_ID": fp.ClientID, "FAKE_CLIENT_SECRET": fp.ClientSecret}}
	d := fakeDescriptor("fake", fp)
	if mutate != nil {
		mutate(d, fp)
	}
	e.cat["fake"] = d
	e.client = httpClient(fp, e.hosts)
	e.hooks = webhook.NewSender(webhook.Config{Store: st, Keyring: kr, Clock: e.clock.Now})
	e.svc = e.newService()
	e.tenant = storetest.NewTenant(t, st)
	return e
}

func (e *env) newService() *connect.Service {
	return e.newServiceOn(e.st)
}

func (e *env) newServiceOn(st store.Store) *connect.Service {
	e.t.Helper()
	return e.newServiceWith(st, nil)
}

// newServiceWith builds a Service on st; mutate adjusts its Config. The
// Service is closed when the test ends.
func (e *env) newServiceWith(st store.Store, mutate func(*connect.Config)) *connect.Service {
	e.t.Helper()
	cfg := connect.Config{
		Store: st, Keyring: e.kr, Catalog: e.cat, BaseURL: baseURL,
		Env:        func(k string) string { return e.vars[k] },
		HTTPClient: e.client, Clock: e.clock.Now, Webhooks: e.hooks,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := connect.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	return svc
}

// authorize follows the authorization URL at the fake (which approves at
// once) and returns the callback query it redirects to.
func (e *env) authorize(authURL string) url.Values {
	e.t.Helper()
	resp, err := e.client.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("authorize: %s: %s", resp.Status, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc.Query()
}

// connect runs the whole browser flow for the tenant.
func (e *env) connect(provider string, opts connect.ConnectOptions) connect.CallbackResult {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.svc.StartConnect(ctx, e.tenant, "", provider, opts)
	if err != nil {
		e.t.Fatalf("start connect: %v", err)
	}
	cb, err := e.svc.Callback(ctx, provider, e.authorize(res.AuthURL))
	if err != nil {
		e.t.Fatalf("callback: %v", err)
	}
	return cb
}

// apiMe calls the fake's protected API with a bearer token.
func (e *env) apiMe(token string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.fp.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) connectionCount() int {
	e.t.Helper()
	n := 0
	err := e.st.InTenant(context.Background(), e.tenant, func(tx store.Tx) error {
		cs, err := tx.ListConnections(context.Background())
		n = len(cs)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// receiver is an httptest webhook receiver that verifies signatures.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	events []webhook.Event
	data   []webhook.ConnectionData
	bad    int
	got    chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan struct{}, 64)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret, req.Header.Get(webhook.HeaderSignature), body, 0); err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev webhook.Event
		var d struct {
			Data webhook.ConnectionData `json:"data"`
		}
		json.Unmarshal(body, &ev)
		json.Unmarshal(body, &d)
		if req.Header.Get(webhook.HeaderEventID) != ev.ID {
			r.bad++
		}
		r.events = append(r.events, ev)
		r.data = append(r.data, d.Data)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) wait(t *testing.T, typ string) webhook.ConnectionData {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		for i, ev := range r.events {
			if ev.Type == typ {
				d := r.data[i]
				r.mu.Unlock()
				return d
			}
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("no %s webhook arrived", typ)
		}
	}
}
