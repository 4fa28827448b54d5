package triggers_test

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestHookRateLimit floods one tenant's hook URL past ATOM_HOOK_RATE_LIMIT
// while another tenant's provider keeps sending to its own: the flood gets
// 429 rate_limited with Retry-After (counted in the metrics), no refused
// request leaves an event, and every request to the other hook is
// accepted and its events recorded and delivered. The app webhook URL has
// a bucket of its own.
func TestHookRateLimit(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHost(t, hosttest.Options{Backend: backend, Configure: func(c *config.Config) {
				c.HookRateLimit, c.HookRateBurst = 1, 3
			}}, srv)
			type hook struct {
				key, path, secret string
				ti                instance
				rc                *receiver
			}
			newHook := func(key string, n int) hook {
				rc := newReceiver(t)
				h.Must(h.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": rc.srv.URL}, nil), 200, nil)
				h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_" + strconv.Itoa(n)}, nil), 201, nil)
				var ti instance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
				return hook{key: key, path: strings.TrimPrefix(ti.HookURL, h.URL), secret: fmt.Sprintf("whsec_fake_hook_%d", n), ti: ti, rc: rc}
			}
			a := newHook(h.Tenant.Key, 1)
			b := newHook(h.NewTenant("rival").Key, 2)
			send := func(hk hook, id string) hosttest.Response {
				now := time.Now().Unix()
				body := []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, id, now))
				return h.Call("POST", hk.path, "", body, map[string]string{"Stripe-Signature": stripeSign(hk.secret, now, body), "Content-Type": "application/json"})
			}

			accepted, limited := 0, 0
			var bSent []string
			for i := range 60 {
				r := send(a, fmt.Sprintf("evt_flood_%d", i))
				switch r.Status {
				case 200:
					accepted++
				case 429:
					limited++
					code, _ := r.ErrorCode()
					if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); code != "rate_limited" || err != nil || ra < 1 {
						t.Fatalf("flood %d: 429 with code %q, Retry-After %q: %s", i, code, r.Header.Get("Retry-After"), r.Body)
					}
				default:
					t.Fatalf("flood %d: %d %s", i, r.Status, r.Body)
				}
				if i%20 == 10 {
					// The other tenant's provider, in the middle of the flood.
					id := fmt.Sprintf("evt_b_%d", i)
					if r := send(b, id); r.Status != 200 {
						t.Fatalf("the other hook during the flood: %d %s", r.Status, r.Body)
					}
					bSent = append(bSent, id)
				}
			}
			if limited == 0 || accepted == 0 {
				t.Fatalf("flood of 60 at 1/s with a burst of 3: %d accepted, %d refused", accepted, limited)
			}
			if n := len(eventsOf(h, a.key, a.ti.ID).Events); n != accepted {
				t.Fatalf("%d events of the flooded hook, %d requests accepted", n, accepted)
			}
			page := eventsOf(h, b.key, b.ti.ID)
			if len(page.Events) != len(bSent) {
				t.Fatalf("%d events of the other hook, %d sent", len(page.Events), len(bSent))
			}
			for i, id := range bSent {
				if page.Events[i].ID != triggers.EventID(b.ti.ID, id) {
					t.Fatalf("event %d of the other hook: %s", i, page.Events[i].ID)
				}
			}
			hosttest.WaitFor(t, 20*time.Second, "the other hook's deliveries", func() bool { return len(b.rc.all()) >= len(bSent) })

			// The app webhook URL has its own bucket: the flood above
			// left it full, and unsigned requests use it up.
			appLimited := 0
			for range 10 {
				r := h.Call("POST", "/api/v1/hooks/app/triggers", "", []byte(`{"type":"event_callback"}`), map[string]string{"Content-Type": "application/json"})
				switch r.Status {
				case 401, 400:
				case 429:
					appLimited++
				default:
					t.Fatalf("app hook: %d %s", r.Status, r.Body)
				}
			}
			if appLimited == 0 {
				t.Fatal("10 app webhook requests at 1/s with a burst of 3: none refused")
			}
			metrics := string(h.Call("GET", "/metrics", "", nil, nil).Body)
			for _, want := range []string{
				fmt.Sprintf(`atom_hook_requests_rate_limited_total{route="/api/v1/hooks/:hookId"} %d`, limited),
				fmt.Sprintf(`atom_hook_requests_rate_limited_total{route="/api/v1/hooks/app/:provider"} %d`, appLimited),
			} {
				if !strings.Contains(metrics, want) {
					t.Fatalf("metrics lack %s:\n%s", want, grepLines(metrics, "atom_hook_requests"))
				}
			}
		})
	}
}

// TestHookDisabledOnAnotherReplica: a replica that has just read a webhook
// instance (and reuses what it read for a moment) records nothing for it
// once another replica disabled it: the request after the connection's
// deletion elsewhere is answered 404 and leaves no event.
func TestHookDisabledOnAnotherReplica(t *testing.T) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	a := startHost(t, hosttest.Options{Backend: "postgres", EncryptionKeys: keys}, srv)
	b := startHost(t, hosttest.Options{DatabaseURL: a.PG.AppURL, MigrateDatabaseURL: a.PG.OwnerURL, Backend: "postgres", EncryptionKeys: keys}, srv)
	key := a.Tenant.Key
	a.Must(a.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
	var ti instance
	a.Must(a.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
	path := strings.TrimPrefix(ti.HookURL, a.URL)
	send := func(id string) hosttest.Response {
		now := time.Now().Unix()
		body := []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, id, now))
		return a.Call("POST", path, "", body, map[string]string{"Stripe-Signature": stripeSign("whsec_fake_hook_1", now, body), "Content-Type": "application/json"})
	}
	a.Must(send("evt_1"), 200, nil)
	// The other replica deletes the connection: the trigger is disabled.
	b.Must(b.Call("DELETE", "/api/v1/connections/triggers", key, nil, nil), 200, nil)
	if r := send("evt_2"); r.Status != 404 {
		t.Fatalf("hook of a trigger disabled on another replica: %d %s", r.Status, r.Body)
	}
	page := eventsOf(a, key, ti.ID)
	if len(page.Events) != 1 || page.Events[0].ID != triggers.EventID(ti.ID, "evt_1") {
		t.Fatalf("events %+v, want evt_1's alone", page.Events)
	}
}

// TestHookMissLimit: requests for hook ids that do not exist (made up,
// over-long) take from their client address's bucket of misses, each a
// 404 until it is empty, then 429 rate_limited with Retry-After before any
// lookup (counted in the metrics) — for every hook id the replica has not
// found active within the hour: a hook in use keeps working (behind a
// proxy every client has one address), a hook never requested yet waits
// for the bucket to refill. App webhook URLs (a provider's name, no
// lookup) neither take from nor wait for the bucket.
func TestHookMissLimit(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHost(t, hosttest.Options{Backend: backend, Configure: func(c *config.Config) {
				c.HookRateLimit, c.HookRateBurst = 2, 4
			}}, srv)
			newHook := func(key string, n int) (instance, func(id string) hosttest.Response) {
				h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_" + strconv.Itoa(n)}, nil), 201, nil)
				var ti instance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
				path := strings.TrimPrefix(ti.HookURL, h.URL)
				return ti, func(id string) hosttest.Response {
					now := time.Now().Unix()
					body := []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, id, now))
					return h.Call("POST", path, "", body, map[string]string{"Stripe-Signature": stripeSign(fmt.Sprintf("whsec_fake_hook_%d", n), now, body), "Content-Type": "application/json"})
				}
			}
			inUse, send := newHook(h.Tenant.Key, 1)
			otherKey := h.NewTenant("quiet").Key
			quiet, sendQuiet := newHook(otherKey, 2)
			if r := send("evt_before"); r.Status != 200 {
				t.Fatalf("the hook in use: %d %s", r.Status, r.Body)
			}
			misses := []string{
				"/api/v1/hooks/hk_madeup1", "/api/v1/hooks/hk_madeup2", "/api/v1/hooks/" + strings.Repeat("x", 200),
				"/api/v1/hooks/hk_madeup3", "/api/v1/hooks/hk_madeup4", "/api/v1/hooks/hk_madeup5",
				"/api/v1/hooks/hk_madeup6", "/api/v1/hooks/hk_madeup7",
			}
			notFound, limited := 0, 0
			for _, p := range misses {
				r := h.Call("POST", p, "", []byte(`{}`), map[string]string{"Content-Type": "application/json"})
				switch r.Status {
				case 404:
					if limited > 0 {
						t.Fatalf("%s: 404 after a refusal", p)
					}
					notFound++
				case 429:
					limited++
					code, _ := r.ErrorCode()
					if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); code != "rate_limited" || err != nil || ra < 1 ||
						!strings.Contains(string(r.Body), "hook URLs that do not exist") {
						t.Fatalf("%s: 429 with code %q, Retry-After %q: %s", p, code, r.Header.Get("Retry-After"), r.Body)
					}
				default:
					t.Fatalf("%s: %d %s", p, r.Status, r.Body)
				}
			}
			if notFound < 4 || notFound > 5 || limited == 0 {
				t.Fatalf("8 misses at 2/s with a burst of 4: %d answered 404, %d refused", notFound, limited)
			}
			// While the address has no misses left: the hook in use is
			// answered, the quiet one is refused, app URLs are looked up.
			if r := send("evt_during"); r.Status != 200 {
				t.Fatalf("the hook in use while the address is over its misses: %d %s", r.Status, r.Body)
			}
			if r := sendQuiet("evt_q_during"); r.Status != 429 {
				t.Fatalf("a hook never requested while the address is over its misses: %d %s", r.Status, r.Body)
			}
			for _, p := range []string{"/api/v1/hooks/app/TRIGGERS", "/api/v1/hooks/app/trigger%73", "/api/v1/hooks/app/nobody"} {
				if r := h.Call("POST", p, "", []byte(`{}`), map[string]string{"Content-Type": "application/json"}); r.Status != 404 {
					t.Fatalf("%s while the address is over its misses: %d %s", p, r.Status, r.Body)
				}
			}
			hosttest.WaitFor(t, 10*time.Second, "the quiet hook accepted", func() bool { return sendQuiet("evt_q_after").Status == 200 })
			metrics := string(h.Call("GET", "/metrics", "", nil, nil).Body)
			if !strings.Contains(metrics, `atom_hook_requests_rate_limited_total{route="/api/v1/hooks/:hookId"}`) {
				t.Fatalf("metrics lack the refusals:\n%s", grepLines(metrics, "atom_hook_requests"))
			}
			if n := len(eventsOf(h, h.Tenant.Key, inUse.ID).Events); n != 2 {
				t.Fatalf("%d events of the hook in use, want evt_before and evt_during", n)
			}
			if n := len(eventsOf(h, otherKey, quiet.ID).Events); n != 1 {
				t.Fatalf("%d events of the quiet hook, want evt_q_after", n)
			}
		})
	}
}
