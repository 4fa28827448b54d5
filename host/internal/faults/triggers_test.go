package faults

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/triggers"
)

// hookProvider is the provider of the triggers fixture plugin
// (host/internal/runtimes/native/testdata/triggers) for webhook triggers:
// it registers a webhook URL (POST /hooks) and hands back a signing
// secret of its own per registration.
type hookProvider struct {
	mu      sync.Mutex
	secrets map[string]string // hook URL → signing secret
	srv     *httptest.Server
}

func newHookProvider(t *testing.T) *hookProvider {
	p := &hookProvider{secrets: map[string]string{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/hooks":
			var in struct{ URL string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			p.mu.Lock()
			id := fmt.Sprintf("hook_%d", len(p.secrets)+1)
			secret := "whsec_fault_" + id
			p.secrets[in.URL] = secret
			p.mu.Unlock()
			_, _ = io.WriteString(w, `{"id":"`+id+`","secret":"`+secret+`"}`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *hookProvider) secret(hookURL string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.secrets[hookURL]
}

const triggersDescriptor = `{"id":"triggers","name":"Triggers","categories":["development"],
	"auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":"%s"},
	"implementations":["native"],"connectable":true}`

// signedHook is a provider webhook for item evt signed as Stripe signs,
// at ts.
func signedHook(secret, evt string, ts int64) (body []byte, sig string) {
	body = []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, evt, ts))
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	return body, "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// endpointLog is a tenant's webhook endpoint: it records every request
// (id, body, signature check) and answers with what answer says.
type endpointLog struct {
	mu     sync.Mutex
	secret string
	reqs   []endpointReq
	answer atomic.Value // func() int
	url    string
}

type endpointReq struct {
	ID, Type, ItemID, Tenant string
	Status                   int
	SignedOK                 bool
}

func newEndpointLog(t *testing.T) *endpointLog {
	e := &endpointLog{}
	e.answer.Store(func() int { return 200 })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m struct {
			TenantID string `json:"tenant_id"`
			Type     string `json:"type"`
			Data     struct {
				ItemID string `json:"item_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &m)
		status := e.answer.Load().(func() int)()
		id := r.Header.Get("webhook-id")
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		e.mu.Lock()
		ok := e.secret != "" && r.Header.Get("webhook-signature") == delivery.Sign(id, time.Unix(ts, 0), b, e.secret)
		e.reqs = append(e.reqs, endpointReq{ID: id, Type: m.Type, ItemID: m.Data.ItemID, Tenant: m.TenantID, Status: status, SignedOK: ok})
		e.mu.Unlock()
		if status == 0 { // time out: hold the request past the sender's timeout
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// delivered returns the ids of the trigger's events answered 2xx, in
// the order of their first such answer.
func (e *endpointLog) delivered() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.reqs {
		if r.Type == itemEvent && r.Status == 200 && !slices.Contains(out, r.ID) {
			out = append(out, r.ID)
		}
	}
	return out
}

// itemEvent is the type of the fixture's webhook trigger's events (the
// endpoint receives the tenant's connection events too).
const itemEvent = "triggers.item_event"

func (e *endpointLog) all() []endpointReq {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.reqs)
}

// trigTenant is a tenant with a webhook trigger and its own endpoint.
type trigTenant struct {
	hosttest.Tenant
	trigger, path, secret string
	ep                    *endpointLog
}

func startTriggersHost(t *testing.T, backend string, prov *hookProvider, configure func(*config.Config)) *hosttest.Host {
	bin := testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", "")
	return hosttest.Start(t, hosttest.Options{Backend: backend, Quiet: true, LogLevel: "error",
		Catalog:   map[string]string{"triggers.json": fmt.Sprintf(triggersDescriptor, prov.srv.URL)},
		Prepare:   func(dir string) { testbin.Install(t, bin, dir, plugindir.NativePrefix+"triggers", 0o755) },
		Configure: configure})
}

func newTrigTenant(t *testing.T, h *hosttest.Host, prov *hookProvider, name string) *trigTenant {
	tn := &trigTenant{Tenant: h.NewTenant(name), ep: newEndpointLog(t)}
	var wh struct{ Secret string }
	h.Must(h.Call("PUT", "/api/v1/webhook", tn.Key, map[string]any{"url": tn.ep.url}, nil), 200, &wh)
	tn.ep.secret = wh.Secret
	h.Must(h.Call("POST", "/api/v1/connections/triggers", tn.Key, map[string]any{"api_key": "sk_test_" + name}, nil), 201, nil)
	var ti struct {
		ID      string `json:"id"`
		HookURL string `json:"hook_url"`
	}
	h.Must(h.Call("POST", "/api/v1/triggers", tn.Key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
	tn.trigger, tn.path, tn.secret = ti.ID, strings.TrimPrefix(ti.HookURL, h.URL), prov.secret(ti.HookURL)
	if tn.secret == "" || !strings.HasPrefix(tn.path, "/api/v1/hooks/") {
		t.Fatalf("trigger %+v; the provider holds no registration", ti)
	}
	return tn
}

func (tn *trigTenant) send(h *hosttest.Host, evt string, ts int64, sig string) hosttest.Response {
	body, good := signedHook(tn.secret, evt, ts)
	if sig == "" {
		sig = good
	}
	return h.Call("POST", tn.path, "", body, map[string]string{"Stripe-Signature": sig, "Content-Type": "application/json"})
}

// TestFaultTriggerWebhooksRepeatedOutOfOrder: two tenants with their own
// webhook trigger and endpoint; the provider sends every item's webhook
// three times, shuffled, from four senders at once, both tenants using
// the same item ids. Each tenant receives every one of its items, under
// one event id per item, signed with its own secret, and nothing of the
// other tenant. Forged, stale, unsigned and cross-tenant signatures are
// refused with 401, record nothing and are counted.
func TestFaultTriggerWebhooksRepeatedOutOfOrder(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			prov := newHookProvider(t)
			h := startTriggersHost(t, backend, prov, nil)
			a, b := newTrigTenant(t, h, prov, "alpha"), newTrigTenant(t, h, prov, "beta")
			const items = 8
			type send struct {
				tn  *trigTenant
				evt string
			}
			var sends []send
			for _, tn := range []*trigTenant{a, b} {
				for i := range items {
					for range 3 {
						sends = append(sends, send{tn, fmt.Sprintf("evt_%d", i)})
					}
				}
			}
			rng := rand.New(rand.NewPCG(15, 3))
			rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
			now := time.Now().Unix()
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < int64(len(sends)); i = next.Add(1) - 1 {
						if r := sends[i].tn.send(h, sends[i].evt, now, ""); r.Status != 200 {
							t.Errorf("send %d: %d %s", i, r.Status, r.Body)
						}
					}
				}()
			}
			wg.Wait()

			// Refused: forged, stale, unsigned, and alpha's secret at beta's URL.
			stale, staleSig := signedHook(a.secret, "evt_stale", now-3600)
			_, crossSig := signedHook(a.secret, "evt_x", now)
			for name, r := range map[string]hosttest.Response{
				"forged":       a.send(h, "evt_f", now, "t="+strconv.FormatInt(now, 10)+",v1="+strings.Repeat("0", 64)),
				"stale":        h.Call("POST", a.path, "", stale, map[string]string{"Stripe-Signature": staleSig}),
				"unsigned":     h.Call("POST", a.path, "", []byte(`{"id":"evt_u"}`), nil),
				"cross-tenant": b.send(h, "evt_x", now, crossSig),
			} {
				if r.Status != 401 {
					t.Errorf("%s: %d %s, want 401", name, r.Status, r.Body)
				}
			}
			metrics := string(h.Call("GET", "/metrics", "", nil, nil).Body)
			if !strings.Contains(metrics, `atom_trigger_webhooks_refused_total{provider="triggers",reason="signature"} 4`) {
				t.Errorf("refusals not counted 4 times:\n%s", grepLines(metrics, "atom_trigger_webhooks_refused"))
			}

			for _, tn := range []*trigTenant{a, b} {
				hosttest.WaitFor(t, 60*time.Second, "every item delivered", func() bool { return len(tn.ep.delivered()) >= items })
				var page struct {
					Events []struct{ ID string }
				}
				h.Must(h.Call("GET", "/api/v1/events?trigger="+tn.trigger, tn.Key, nil, nil), 200, &page)
				if len(page.Events) != items {
					t.Errorf("%s: %d events recorded, want %d", tn.ID, len(page.Events), items)
				}
				idOf := map[string]string{} // item → event id
				for _, r := range tn.ep.all() {
					if r.Tenant != tn.ID {
						t.Errorf("%s received an event of tenant %s: %+v", tn.ID, r.Tenant, r)
					}
					if r.Type != itemEvent {
						continue // its connection.created
					}
					want := triggers.EventID(tn.trigger, r.ItemID)
					if r.Tenant != tn.ID || r.ID != want || !r.SignedOK {
						t.Errorf("%s received %+v (want id %s, its tenant, its signature)", tn.ID, r, want)
					}
					if prev, ok := idOf[r.ItemID]; ok && prev != r.ID {
						t.Errorf("item %s delivered under two ids %s and %s", r.ItemID, prev, r.ID)
					}
					idOf[r.ItemID] = r.ID
				}
				if len(idOf) != items {
					t.Errorf("%s: items delivered %v, want %d", tn.ID, idOf, items)
				}
				t.Logf("%s: %d requests for %d items", tn.ID, len(tn.ep.all()), items)
			}
		})
	}
}

// TestFaultTriggerEndpointDownThenUp: the tenant's endpoint times out,
// then answers 500, then recovers, while the provider keeps sending. Scale:
// the 10 minutes down is 4 s here, with the retry schedule
// starting at 200 ms instead of 5 s (ATOM_DELIVERY_RETRY_BASE), a 1 s
// attempt timeout and 40 attempts before the dead letter. Every event
// arrives, under its one id, in the trigger's order.
func TestFaultTriggerEndpointDownThenUp(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			prov := newHookProvider(t)
			h := startTriggersHost(t, backend, prov, func(c *config.Config) {
				c.Delivery.RetryBase, c.Delivery.Timeout, c.Delivery.MaxAttempts = 200*time.Millisecond, time.Second, 40
			})
			tn := newTrigTenant(t, h, prov, "down")
			start := time.Now()
			tn.ep.answer.Store(func() int {
				switch since := time.Since(start); {
				case since < 2*time.Second:
					return 0 // hangs past the attempt's timeout
				case since < 4*time.Second:
					return 500
				}
				return 200
			})
			var want []string
			for i := range 10 {
				evt := fmt.Sprintf("evt_%02d", i)
				h.Must(tn.send(h, evt, time.Now().Unix(), ""), 200, nil)
				want = append(want, triggers.EventID(tn.trigger, evt))
				time.Sleep(300 * time.Millisecond)
			}
			hosttest.WaitFor(t, 90*time.Second, "every event delivered", func() bool { return len(tn.ep.delivered()) >= len(want) })
			if got := tn.ep.delivered(); !slices.Equal(got, want) {
				t.Fatalf("delivered %v, want %v (each, in order)", got, want)
			}
			failed := 0
			for _, r := range tn.ep.all() {
				if r.Type != itemEvent {
					continue
				}
				if !slices.Contains(want, r.ID) || !r.SignedOK {
					t.Errorf("unexpected request %+v", r)
				}
				if r.Status != 200 {
					failed++
				}
			}
			if failed == 0 {
				t.Fatal("no attempt met the outage")
			}
			t.Logf("%s: %d requests, %d met the outage", backend, len(tn.ep.all()), failed)
		})
	}
}

// TestFaultTriggerDeliveryKill9: a host delivering a trigger's events is
// killed with SIGKILL while its first delivery hangs at the endpoint;
// started again on the same database, it delivers every event, under the
// same ids, in the trigger's order.
func TestFaultTriggerDeliveryKill9(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			prov := newHookProvider(t)
			d.env = append(d.env, "ATOM_DELIVERY_TIMEOUT=4s")
			plugins := filepath.Join(d.dir, "plugins")
			os.MkdirAll(plugins, 0o755)
			testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", ""), plugins, plugindir.NativePrefix+"triggers", 0o755)
			os.WriteFile(filepath.Join(d.dir, "catalog", "triggers.json"), []byte(fmt.Sprintf(triggersDescriptor, prov.srv.URL)), 0o644)
			ep := newTenantEndpoint(t)
			p := d.start()
			_, key := p.newTenant(t, "kill9")
			// Connected before the webhook URL is set: connection.created is
			// not delivered, and the first delivery is the trigger's.
			p.must(t, "POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_kill9"}, 201, nil)
			p.must(t, "PUT", "/api/v1/webhook", key, map[string]string{"url": ep.url}, 200, nil)
			var ti struct {
				ID      string `json:"id"`
				HookURL string `json:"hook_url"`
			}
			// The plugin directory is scanned as the host starts.
			hosttest.WaitFor(t, 30*time.Second, "the trigger created", func() bool {
				r, err := p.do("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil)
				if err != nil || r.status != 201 {
					return false
				}
				return json.Unmarshal(r.body, &ti) == nil
			})
			secret := prov.secret(ti.HookURL)
			var want []string
			for i := range 5 {
				evt := fmt.Sprintf("evt_%d", i)
				body, sig := signedHook(secret, evt, time.Now().Unix())
				req, _ := http.NewRequest("POST", ti.HookURL, bytes.NewReader(body))
				req.Header.Set("Stripe-Signature", sig)
				resp, err := durClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("hook %s: %v %v", evt, err, resp)
				}
				resp.Body.Close()
				want = append(want, triggers.EventID(ti.ID, evt))
			}
			hosttest.WaitFor(t, 20*time.Second, "the delivery in flight", func() bool { return ep.live.Load() == 1 })
			p.kill9(t)

			killed := time.Now()
			d.start()
			t.Logf("%s: started again %s after the kill", backend, time.Since(killed).Round(time.Millisecond))
			hosttest.WaitFor(t, 120*time.Second, "every event delivered", func() bool {
				ep.mu.Lock()
				defer ep.mu.Unlock()
				for _, id := range want {
					if ep.ok[id] == 0 {
						return false
					}
				}
				return true
			})
			ep.mu.Lock()
			defer ep.mu.Unlock()
			var order []string
			for _, id := range ep.got {
				if !slices.Contains(want, id) {
					t.Errorf("the endpoint received an unknown id %s", id)
				}
				if !slices.Contains(order, id) {
					order = append(order, id)
				}
			}
			if !slices.Equal(order, want) {
				t.Errorf("first sent in the order %v, want %v", order, want)
			}
			t.Logf("%s: requests %v, every event delivered %s after the kill", backend, ep.got, time.Since(killed).Round(time.Millisecond))
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestFaultTriggerPostgresRestart: `atom serve` on a PostgreSQL of the
// test's own receives a trigger's webhooks, one every 50 ms, while the
// database is stopped (fast) for 2 s and started again. The sender acts
// as providers do: a webhook not answered 200 is sent again until it is.
// Every webhook answered 200 is delivered to the tenant, under its one
// id, in the trigger's order.
func TestFaultTriggerPostgresRestart(t *testing.T) {
	d := newDurEnv(t, "postgres")
	prov := newHookProvider(t)
	plugins := filepath.Join(d.dir, "plugins")
	os.MkdirAll(plugins, 0o755)
	testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", ""), plugins, plugindir.NativePrefix+"triggers", 0o755)
	os.WriteFile(filepath.Join(d.dir, "catalog", "triggers.json"), []byte(fmt.Sprintf(triggersDescriptor, prov.srv.URL)), 0o644)
	ep := newEndpointLog(t)
	p := d.start()
	_, key := p.newTenant(t, "pgrestart")
	p.must(t, "POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_pg"}, 201, nil)
	var wh struct{ Secret string }
	p.must(t, "PUT", "/api/v1/webhook", key, map[string]string{"url": ep.url}, 200, &wh)
	ep.mu.Lock()
	ep.secret = wh.Secret
	ep.mu.Unlock()
	var ti struct {
		ID      string `json:"id"`
		HookURL string `json:"hook_url"`
	}
	hosttest.WaitFor(t, 30*time.Second, "the trigger created", func() bool {
		r, err := p.do("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil)
		return err == nil && r.status == 201 && json.Unmarshal(r.body, &ti) == nil
	})
	secret := prov.secret(ti.HookURL)
	var want []string
	refused := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			evt := fmt.Sprintf("evt_%03d", i)
			for {
				body, sig := signedHook(secret, evt, time.Now().Unix())
				req, _ := http.NewRequest("POST", ti.HookURL, bytes.NewReader(body))
				req.Header.Set("Stripe-Signature", sig)
				resp, err := durClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				refused++
				time.Sleep(100 * time.Millisecond)
			}
			want = append(want, triggers.EventID(ti.ID, evt))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(2 * time.Second)
	d.pg.ctl(t, "stop", "-m", "fast")
	time.Sleep(2 * time.Second)
	d.pg.ctl(t, "start")
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	hosttest.WaitFor(t, 120*time.Second, "every accepted webhook delivered", func() bool { return len(ep.delivered()) >= len(want) })
	if got := ep.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v (each, in order)", got, want)
	}
	for _, r := range ep.all() {
		if r.Type == itemEvent && (!slices.Contains(want, r.ID) || !r.SignedOK) {
			t.Errorf("unexpected request %+v", r)
		}
	}
	if refused == 0 {
		t.Error("no webhook met the restart")
	}
	t.Logf("%d webhooks accepted, %d attempts refused during the restart, %d requests at the endpoint", len(want), refused, len(ep.all()))
}
