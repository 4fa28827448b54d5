package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
)

// trigProvider is a fake of the triggers fixture plugin's provider
// (host/internal/runtimes/native/testdata/triggers): it registers
// webhooks (POST /hooks → an id and a signing secret) and answers polls
// of /items with an empty list at once.
type trigProvider struct {
	url   string
	mu    sync.Mutex
	hooks map[string]string // hook URL → signing secret
	polls atomic.Int64
}

func (e *Env) newTrigProvider() (*trigProvider, error) {
	p := &trigProvider{hooks: map[string]string{}}
	srv, err := e.serve(http.HandlerFunc(p.serveHTTP))
	if err != nil {
		return nil, err
	}
	p.url = srv
	return p, nil
}

func (p *trigProvider) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/hooks":
		var in struct {
			URL string `json:"url"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		p.mu.Lock()
		id := fmt.Sprintf("hook_%d", len(p.hooks)+1)
		secret := "whsec_bench_" + id
		p.hooks[in.URL] = secret
		p.mu.Unlock()
		_, _ = io.WriteString(w, `{"id":"`+id+`","secret":"`+secret+`"}`)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/hooks/"):
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == "/items":
		p.polls.Add(1)
		_, _ = io.WriteString(w, `[]`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// serve runs handler on a loopback listener until Close and returns its
// base URL.
func (e *Env) serve(handler http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	e.onClose(func() { srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// arrivals is the tenants' webhook endpoint: it records when each event
// id first arrives and wakes whoever waits for it.
type arrivals struct {
	mu      sync.Mutex
	at      map[string]time.Time
	waiting map[string]chan struct{}
	total   atomic.Int64
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get("webhook-id")
	a.total.Add(1)
	a.mu.Lock()
	if _, ok := a.at[id]; !ok {
		a.at[id] = now
		if ch := a.waiting[id]; ch != nil {
			close(ch)
			delete(a.waiting, id)
		}
	}
	a.mu.Unlock()
}

// wait returns a channel closed when id has arrived.
func (a *arrivals) wait(id string) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	if _, ok := a.at[id]; ok {
		close(ch)
		return ch
	}
	a.waiting[id] = ch
	return ch
}

func (a *arrivals) get(id string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[id]
	return t, ok
}

// trigHook is one webhook trigger instance of a tenant.
type trigHook struct {
	id, path, secret string
}

const trigDescriptor = `{"id":"triggers","name":"Triggers","categories":["development"],
	"auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":"%s"},
	"implementations":["native"],"connectable":true}`

// startTrigHosts starts n replicas on one new PostgreSQL database serving
// the triggers fixture plugin against prov.
func (e *Env) startTrigHosts(ctx context.Context, n int, prov string, env map[string]string) ([]*Host, error) {
	hosts, _, err := e.startTrigHostsDB(ctx, n, prov, env)
	return hosts, err
}

// startTrigHostsDB is startTrigHosts, also returning the database.
func (e *Env) startTrigHostsDB(ctx context.Context, n int, prov string, env map[string]string) ([]*Host, *Database, error) {
	bin, err := e.Build("host/internal/runtimes/native/testdata/triggers", false)
	if err != nil {
		return nil, nil, err
	}
	db, err := e.NewDatabase(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys, err := vault.Generate("k1")
	if err != nil {
		return nil, nil, err
	}
	var hosts []*Host
	for i := range n {
		h, err := e.StartHost(ctx, HostOptions{DB: db, Keys: keys, Env: env, NoTenant: i > 0,
			Catalog: map[string]string{"triggers.json": fmt.Sprintf(trigDescriptor, prov)},
			Prepare: func(dir string) error { return Install(bin, dir, plugindir.NativePrefix+"triggers", 0o755) }})
		if err != nil {
			return nil, nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, db, nil
}

// call sends a JSON request with key and decodes a 2xx answer into out.
func (h *Host) call(ctx context.Context, method, path, key string, body, out any) error {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	st, resp, err := Do(ctx, Request{Method: method, URL: h.URL + path, Body: b,
		Header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}})
	if err != nil {
		return err
	}
	if st < 200 || st > 299 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, st, resp)
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

// newWebhookTrigger connects the fixture provider for key's tenant, points
// the tenant's webhook at endpoint and creates a webhook trigger.
func (h *Host) newWebhookTrigger(ctx context.Context, key, endpoint string, prov *trigProvider) (trigHook, error) {
	if err := h.call(ctx, "PUT", "/api/v1/webhook", key, map[string]any{"url": endpoint}, nil); err != nil {
		return trigHook{}, err
	}
	if err := h.call(ctx, "POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_bench"}, nil); err != nil {
		return trigHook{}, err
	}
	var ti struct {
		ID      string `json:"id"`
		HookURL string `json:"hook_url"`
	}
	if err := h.call(ctx, "POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, &ti); err != nil {
		return trigHook{}, err
	}
	prov.mu.Lock()
	secret := prov.hooks[ti.HookURL]
	prov.mu.Unlock()
	if secret == "" {
		return trigHook{}, fmt.Errorf("the provider holds no registration of %s", ti.HookURL)
	}
	return trigHook{id: ti.ID, path: strings.TrimPrefix(ti.HookURL, h.URL), secret: secret}, nil
}

// stripeRequest is a provider webhook for evt signed as Stripe signs.
func stripeRequest(base string, hk trigHook, evt string) Request {
	ts := time.Now().Unix()
	body := []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, evt, ts))
	m := hmac.New(sha256.New, []byte(hk.secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	return Request{Method: "POST", URL: base + hk.path, Body: body, Header: map[string]string{
		"Content-Type": "application/json", "Stripe-Signature": "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))}}
}

// triggerWebhook measures a provider webhook's way to the tenant: signed
// request to /api/v1/hooks/{id} → plugin Handle (signature check) → event
// and delivery stored → River job → signed POST to the tenant's endpoint;
// then sustained throughput across two replicas.
func triggerWebhook(ctx context.Context, e *Env) ([]Row, error) {
	prov, err := e.newTrigProvider()
	if err != nil {
		return nil, err
	}
	rec := &arrivals{at: map[string]time.Time{}, waiting: map[string]chan struct{}{}}
	endpoint, err := e.serve(rec)
	if err != nil {
		return nil, err
	}
	hosts, db, err := e.startTrigHostsDB(ctx, 2, prov.url, nil)
	if err != nil {
		return nil, err
	}
	a := hosts[0]
	hk, err := a.newWebhookTrigger(ctx, a.Key, endpoint+"/t0", prov)
	if err != nil {
		return nil, err
	}

	// Latency: one webhook at a time, to one replica.
	n, warm := 200, 20
	if e.Opts.Quick {
		n, warm = 40, 5
	}
	var lat, ack Latencies
	for i := range warm + n {
		evt := fmt.Sprintf("evt_l%d", i)
		done := rec.wait(triggers.EventID(hk.id, evt))
		r := stripeRequest(a.URL, hk, evt)
		sent := time.Now()
		st, body, err := Do(ctx, r)
		if err != nil {
			return nil, err
		}
		if st != http.StatusOK {
			return nil, fmt.Errorf("hook: status %d: %s", st, body)
		}
		acked := time.Since(sent)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			return nil, fmt.Errorf("event %s never reached the tenant's endpoint", evt)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		got, _ := rec.get(triggers.EventID(hk.id, evt))
		if i >= warm {
			lat = append(lat, got.Sub(sent))
			ack = append(ack, acked)
		}
	}
	slices.Sort(lat)
	slices.Sort(ack)
	// The baseline: the same client posting straight to the endpoint.
	direct, err := Loop(ctx, Request{Method: "POST", URL: endpoint + "/direct", Body: []byte(`{}`),
		Header: map[string]string{"webhook-id": "direct"}}, 1, warm, n)
	if err != nil {
		return nil, err
	}
	p50, p99 := lat.P(50), lat.P(99)
	rows := []Row{
		{Name: "provider webhook → tenant endpoint, p50 (1 replica, PG, one at a time)", Ours: Fmt(p50), Baseline: Fmt(direct.P(50)),
			Goal: "≤ 20 ms", Met: p50 <= 20*time.Millisecond,
			Note: fmt.Sprintf("%d webhooks; the hook's own 200 took p50 %s; baseline: a POST straight to the endpoint", n, Fmt(ack.P(50)))},
		{Name: "provider webhook → tenant endpoint, p99", Ours: Fmt(p99), Baseline: Fmt(direct.P(99)),
			Goal: "≤ 100 ms", Met: p99 <= 100*time.Millisecond, Note: fmt.Sprintf("hook 200 p99 %s", Fmt(ack.P(99)))},
	}

	// Throughput: tenants with one webhook trigger each, webhooks sent
	// concurrently to both replicas' URLs for a fixed window.
	tenants, workers, window := 32, 32, 10*time.Second
	if e.Opts.Quick {
		tenants, workers, window = 4, 4, 2*time.Second
	}
	hooks := make([]trigHook, tenants)
	for i := range tenants {
		h := hosts[i%2]
		_, key, err := h.NewTenant(ctx, fmt.Sprintf("tp%d", i))
		if err != nil {
			return nil, err
		}
		if hooks[i], err = h.newWebhookTrigger(ctx, key, fmt.Sprintf("%s/t%d", endpoint, i+1), prov); err != nil {
			return nil, err
		}
	}
	// The tables hold the latency run's events now: statistics as a
	// running system's autovacuum keeps them.
	if err := db.Analyze(ctx); err != nil {
		return nil, err
	}
	before := rec.total.Load()
	var sentN, refused atomic.Int64
	var sentIDs sync.Map
	start := time.Now()
	stop := start.Add(window)
	var wg sync.WaitGroup
	var werr atomic.Value
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop) && ctx.Err() == nil; i++ {
				t := (w + i*workers) % tenants
				hk := hooks[t]
				evt := fmt.Sprintf("evt_w%d_%d", w, i)
				st, body, err := Do(ctx, stripeRequest(hosts[(w+i)%2].URL, hk, evt))
				if err != nil || st != http.StatusOK {
					refused.Add(1)
					werr.CompareAndSwap(nil, fmt.Sprintf("status %d %s %v", st, body, err))
					continue
				}
				sentN.Add(1)
				sentIDs.Store(triggers.EventID(hk.id, evt), true)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	inWindow := rec.total.Load() - before
	accepted := sentN.Load()
	// Drain: every accepted webhook reaches its tenant.
	drainStart := time.Now()
	var missing int
	for {
		missing = 0
		sentIDs.Range(func(k, _ any) bool {
			if _, ok := rec.get(k.(string)); !ok {
				missing++
			}
			return true
		})
		if missing == 0 || time.Since(drainStart) > 120*time.Second || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drain := time.Since(drainStart)
	delivered := float64(inWindow) / elapsed.Seconds()
	total := float64(accepted) / (elapsed + drain).Seconds()
	note := fmt.Sprintf("%d tenants × 1 trigger, %d senders over %s across 2 replicas; %d webhooks accepted (%.0f/s), %d delivered in the window, then %s of waiting; %d not delivered by then (pending, not lost); %d refused",
		tenants, workers, window, accepted, float64(accepted)/elapsed.Seconds(), inWindow, drain.Round(100*time.Millisecond), missing, refused.Load())
	if v := werr.Load(); v != nil {
		note += "; first refusal: " + oneLine(v.(string))
	}
	rows = append(rows, Row{Name: "sustained events/s delivered, 2 replicas on one PG", Ours: fmt.Sprintf("%.0f events/s", delivered),
		Baseline: fmt.Sprintf("%.0f events/s end to end", total), Goal: "≥ 2,000 events/s", Met: delivered >= 2000 && missing == 0, Note: note})
	return rows, nil
}
