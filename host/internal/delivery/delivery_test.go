package delivery_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// verify checks a Standard Webhooks request as a receiver would, written
// from the specification: the key is the base64 after "whsec_", the
// signed content is "<webhook-id>.<webhook-timestamp>.<body>", and
// webhook-signature holds space-separated "v1,<base64 HMAC-SHA256>"
// values, any of which may match. It returns which secrets matched.
func verify(h http.Header, body []byte, tolerance time.Duration, secrets ...string) ([]bool, error) {
	id, ts, sig := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sig == "" {
		return nil, errors.New("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, err
	}
	if d := time.Since(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return nil, errors.New("timestamp outside tolerance")
	}
	matched := make([]bool, len(secrets))
	any := false
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return nil, err
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, v := range strings.Split(sig, " ") {
			ver, b64, ok := strings.Cut(v, ",")
			got, err := base64.StdEncoding.DecodeString(b64)
			if ok && ver == "v1" && err == nil && hmac.Equal(got, want) {
				matched[i], any = true, true
			}
		}
	}
	if !any {
		return matched, errors.New("no signature matches")
	}
	return matched, nil
}

// The specification's published example: its secret, id, timestamp and
// payload sign to this value.
func TestSignSpecificationVector(t *testing.T) {
	got := delivery.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %q", got)
	}
	s, err := delivery.NewSecret()
	if err != nil || !strings.HasPrefix(s, "whsec_") {
		t.Fatal(s, err)
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_")); err != nil || len(k) != 24 {
		t.Fatalf("secret %q does not hold 24 bytes of standard base64: %v", s, err)
	}
}

// receipt is one request an endpoint received.
type receipt struct {
	header http.Header
	body   []byte
	msg    delivery.Message
	status int
}

// endpoint is a tenant's webhook receiver; answer picks each status.
type endpoint struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receipt
	answer func(n int, m delivery.Message) int
}

func newEndpoint(t *testing.T, answer func(n int, m delivery.Message) int) *endpoint {
	e := &endpoint{answer: answer}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m delivery.Message
		json.Unmarshal(b, &m)
		e.mu.Lock()
		st := e.answer(len(e.got), m)
		e.got = append(e.got, receipt{header: r.Header.Clone(), body: b, msg: m, status: st})
		e.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) receipts() []receipt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]receipt(nil), e.got...)
}

type env struct {
	st     store.Store
	svc    *delivery.Service
	tenant string
	clock  atomic.Int64 // offset added to the real time, ns
}

// each runs fn on SQLite and on PostgreSQL (as a role that is neither
// superuser nor owner), with a started River client working deliveries.
func each(t *testing.T, cfg delivery.Config, fn func(t *testing.T, e *env)) {
	run := func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := &env{st: st, tenant: storetest.NewTenant(t, st)}
		kr, _ := vault.New(vault.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
		c := cfg
		c.Store, c.Keyring = st, kr
		c.Clock = func() time.Time { return time.Now().Add(time.Duration(e.clock.Load())) }
		e.svc = delivery.New(c)
		workers := river.NewWorkers()
		delivery.AddWorkers(workers, e.svc)
		jc, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers, FetchPollInterval: 100 * time.Millisecond,
			PeriodicJobs: delivery.PeriodicJobs(200 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		e.svc.SetQueue(jc)
		if err := jc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jc.Stop(sctx)
		})
		fn(t, e)
	}
	t.Run("sqlite", func(t *testing.T) {
		st := storetest.SQLite(t)
		if err := jobs.Migrate(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		run(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := storetest.Postgres(t)
		if err := jobs.MigratePostgres(context.Background(), pg.OwnerURL, pg.AppRole); err != nil {
			t.Fatal(err)
		}
		run(t, pg.Store)
	})
}

func (e *env) delivery(t *testing.T, eventID string) *store.Delivery {
	t.Helper()
	var d *store.Delivery
	if err := e.st.InTenant(context.Background(), e.tenant, func(tx store.Tx) (err error) { d, err = tx.GetDeliveryByEvent(context.Background(), eventID); return }); err != nil {
		t.Fatal(err)
	}
	return d
}

// await polls cond until it holds or 30 s pass.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fast(n int) time.Duration { return time.Duration(n) * 30 * time.Millisecond }

// An endpoint failing the first attempts: each event is delivered, in
// order per source, with one id across its attempts and a signature an
// independent verifier accepts.
func TestRetriesOrderingAndSignature(t *testing.T) {
	each(t, delivery.Config{Backoff: fast, MaxAttempts: 6}, func(t *testing.T, e *env) {
		ctx := context.Background()
		ep := newEndpoint(t, func(n int, _ delivery.Message) int {
			if n < 3 {
				return 503
			}
			return 204
		})
		secret, err := e.svc.SetEndpoint(ctx, e.tenant, ep.srv.URL+"/hook")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := 0; i < 5; i++ {
			ev, err := e.svc.Emit(ctx, e.tenant, "trigger:a", "thing.happened", map[string]int{"i": i})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ev.ID)
		}
		await(t, "five deliveries", func() bool { return e.delivery(t, ids[4]).State == store.DeliveryDelivered })
		got := ep.receipts()
		delivered := map[string]bool{}
		next := 0
		for _, r := range got {
			if _, err := verify(r.header, r.body, time.Minute, secret); err != nil {
				t.Fatalf("signature of %s: %v", r.msg.ID, err)
			}
			if r.header.Get("webhook-id") != r.msg.ID || r.header.Get("Atom-Event-Id") != r.msg.ID || r.msg.TenantID != e.tenant {
				t.Fatalf("ids: header %q, body %q", r.header.Get("webhook-id"), r.msg.ID)
			}
			// Event n+1 is never sent before event n was delivered.
			if r.msg.ID != ids[next] {
				t.Fatalf("received %s while %s (#%d) was not delivered yet", r.msg.ID, ids[next], next)
			}
			if r.status < 300 {
				delivered[r.msg.ID] = true
				next++
			}
		}
		if len(delivered) != 5 || len(got) != 8 {
			t.Fatalf("%d requests delivered %d events (want 8 and 5)", len(got), len(delivered))
		}
		d := e.delivery(t, ids[0])
		if d.Attempts != 4 || d.LastStatus != 204 || d.DeliveredAt == nil || d.LastError != "" {
			t.Fatalf("first delivery %+v", d)
		}
	})
}

// After MaxAttempts failures the delivery is dead; a replay sends the
// same event again, and only the tenant's own events can be replayed.
func TestDeadLetterAndReplay(t *testing.T) {
	each(t, delivery.Config{Backoff: fast, MaxAttempts: 3}, func(t *testing.T, e *env) {
		ctx := context.Background()
		var up atomic.Bool
		ep := newEndpoint(t, func(int, delivery.Message) int {
			if up.Load() {
				return 200
			}
			return 500
		})
		if _, err := e.svc.SetEndpoint(ctx, e.tenant, ep.srv.URL); err != nil {
			t.Fatal(err)
		}
		ev, err := e.svc.Emit(ctx, e.tenant, "trigger:a", "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		await(t, "dead letter", func() bool { return e.delivery(t, ev.ID).State == store.DeliveryDead })
		d := e.delivery(t, ev.ID)
		if d.Attempts != 3 || d.LastStatus != 500 || !strings.Contains(d.LastError, "500") || len(ep.receipts()) != 3 {
			t.Fatalf("dead delivery %+v after %d requests", d, len(ep.receipts()))
		}
		// A later event of the source is not held back by a dead one.
		ev2, _ := e.svc.Emit(ctx, e.tenant, "trigger:a", "x", nil)
		up.Store(true)
		await(t, "the next event", func() bool { return e.delivery(t, ev2.ID).State == store.DeliveryDelivered })

		other := storetest.NewTenant(t, e.st)
		if _, err := e.svc.Replay(ctx, other, ev.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another tenant replayed the event: %v", err)
		}
		if _, err := e.svc.Replay(ctx, e.tenant, ev.ID); err != nil {
			t.Fatal(err)
		}
		await(t, "replay", func() bool { return e.delivery(t, ev.ID).State == store.DeliveryDelivered })
		last := ep.receipts()[len(ep.receipts())-1]
		if last.msg.ID != ev.ID || last.header.Get("webhook-id") != ev.ID {
			t.Fatalf("replay sent %s", last.msg.ID)
		}
		// A delivered event replays too.
		if _, err := e.svc.Replay(ctx, e.tenant, ev.ID); err != nil {
			t.Fatal(err)
		}
		await(t, "second replay", func() bool {
			return len(ep.receipts()) >= 6 && e.delivery(t, ev.ID).State == store.DeliveryDelivered
		})
	})
}

// During a rotation's overlap every delivery carries a signature for each
// secret; after it, only the new secret's.
func TestRotationOverlap(t *testing.T) {
	each(t, delivery.Config{Backoff: fast}, func(t *testing.T, e *env) {
		ctx := context.Background()
		ep := newEndpoint(t, func(int, delivery.Message) int { return 200 })
		old, err := e.svc.SetEndpoint(ctx, e.tenant, ep.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.RotateSecret(ctx, e.tenant, 8*24*time.Hour); err == nil {
			t.Fatal("an overlap over the maximum was accepted")
		}
		neu, until, err := e.svc.RotateSecret(ctx, e.tenant, time.Hour)
		if err != nil || neu == old {
			t.Fatal(err)
		}
		if ep, _ := e.svc.GetEndpoint(ctx, e.tenant); ep.PreviousSecretExpiresAt == nil || !ep.PreviousSecretExpiresAt.Equal(until.Truncate(time.Microsecond)) {
			t.Fatalf("endpoint %+v, overlap until %v", ep, until)
		}
		ev, _ := e.svc.Emit(ctx, e.tenant, "s", "x", nil)
		await(t, "delivery", func() bool { return e.delivery(t, ev.ID).State == store.DeliveryDelivered })
		r := ep.receipts()[0]
		m, err := verify(r.header, r.body, time.Minute, old, neu)
		if err != nil || !m[0] || !m[1] || len(strings.Fields(r.header.Get("webhook-signature"))) != 2 {
			t.Fatalf("during the overlap: %v %v %q", m, err, r.header.Get("webhook-signature"))
		}
		e.clock.Store(int64(2 * time.Hour))
		ev2, _ := e.svc.Emit(ctx, e.tenant, "s", "x", nil)
		await(t, "delivery", func() bool { return e.delivery(t, ev2.ID).State == store.DeliveryDelivered })
		r = ep.receipts()[1]
		// The receiver's clock is real; the host's is two hours ahead.
		m, err = verify(r.header, r.body, 3*time.Hour, old, neu)
		if err != nil || m[0] || !m[1] {
			t.Fatalf("after the overlap: %v %v", m, err)
		}
	})
}

// A hostile endpoint: one that hangs is cut at the timeout, a huge answer
// is not read to its end, a redirect is not followed.
func TestHostileEndpoint(t *testing.T) {
	each(t, delivery.Config{Backoff: func(int) time.Duration { return time.Hour }, Timeout: 300 * time.Millisecond}, func(t *testing.T, e *env) {
		ctx := context.Background()
		var followed atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
		defer target.Close()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/slow":
				select {
				case <-release:
				case <-r.Context().Done():
				}
			case "/huge":
				w.WriteHeader(200)
				chunk := make([]byte, 32<<10)
				for i := 0; i < 1<<15 && r.Context().Err() == nil; i++ { // up to 1 GiB
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			case "/redirect":
				http.Redirect(w, r, target.URL, http.StatusFound)
			}
		}))
		defer srv.Close()
		defer close(release)
		for _, c := range []struct {
			path, state string
			status      int
			err         string
		}{
			{"/slow", store.DeliveryPending, 0, "deadline exceeded"},
			{"/huge", store.DeliveryDelivered, 200, ""},
			{"/redirect", store.DeliveryPending, 302, "redirects are not followed"},
		} {
			if _, err := e.svc.SetEndpoint(ctx, e.tenant, srv.URL+c.path); err != nil {
				t.Fatal(err)
			}
			ev, _ := e.svc.Emit(ctx, e.tenant, "src"+c.path, "x", nil)
			await(t, c.path, func() bool { return e.delivery(t, ev.ID).Attempts == 1 })
			d := e.delivery(t, ev.ID)
			if d.State != c.state || d.LastStatus != c.status || !strings.Contains(d.LastError, c.err) {
				t.Fatalf("%s: %+v", c.path, d)
			}
		}
		if followed.Load() != 0 {
			t.Fatal("a redirect was followed")
		}
	})
}

// Through the host's outbound client, a private endpoint is refused
// unless the operator's allow-list names it.
func TestPrivateEndpointRefused(t *testing.T) {
	ep := newEndpoint(t, func(int, delivery.Message) int { return 200 })
	host := strings.TrimPrefix(ep.srv.URL, "http://")
	for _, allow := range [][]string{nil, {host}} {
		oc := outbound.New(outbound.Config{AllowPrivateHosts: allow, Rate: -1})
		defer oc.Close()
		client := &http.Client{Transport: oc.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		each(t, delivery.Config{Backoff: func(int) time.Duration { return time.Hour }, HTTPClient: client}, func(t *testing.T, e *env) {
			ctx := context.Background()
			if _, err := e.svc.SetEndpoint(ctx, e.tenant, ep.srv.URL); err != nil {
				t.Fatal(err)
			}
			ev, _ := e.svc.Emit(ctx, e.tenant, "s", "x", nil)
			await(t, "an attempt", func() bool { return e.delivery(t, ev.ID).Attempts == 1 })
			d := e.delivery(t, ev.ID)
			if allow == nil && (d.State != store.DeliveryPending || !strings.Contains(d.LastError, "ATOM_ALLOW_PRIVATE_HOSTS")) {
				t.Fatalf("private endpoint: %+v", d)
			}
			if allow != nil && d.State != store.DeliveryDelivered {
				t.Fatalf("allowed private endpoint: %+v", d)
			}
		})
	}
}

// A delivery whose attempt's host died (its lease ran out, its job is
// gone) is taken over by the sweep and delivered with the same id.
func TestStalledDeliveryResumed(t *testing.T) {
	each(t, delivery.Config{Backoff: fast, Timeout: time.Second}, func(t *testing.T, e *env) {
		ctx := context.Background()
		ep := newEndpoint(t, func(int, delivery.Message) int { return 200 })
		if _, err := e.svc.SetEndpoint(ctx, e.tenant, ep.srv.URL); err != nil {
			t.Fatal(err)
		}
		// An event recorded with a lease that a dead host held and no job.
		var ev store.Event
		err := e.st.InTenant(ctx, e.tenant, func(tx store.Tx) error {
			ev = store.Event{Source: "s", Type: "x", Payload: []byte(`{}`)}
			d, err := tx.AppendEvent(ctx, &ev, true)
			if err != nil {
				return err
			}
			_, err = tx.ClaimDelivery(ctx, d.ID, time.Now(), time.Now().Add(500*time.Millisecond))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		await(t, "the sweep", func() bool { return e.delivery(t, ev.ID).State == store.DeliveryDelivered })
		if r := ep.receipts(); len(r) != 1 || r[0].msg.ID != ev.ID {
			t.Fatalf("receipts %+v", r)
		}
	})
}
