package connect_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

// hammer makes n concurrent Credentials calls through the services in
// turn and returns the access tokens they got.
func hammer(t *testing.T, e *env, svcs []*connect.Service, n int) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := map[string]int{}
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(svc *connect.Service) {
			defer wg.Done()
			<-start
			cr, _, err := svc.Credentials(context.Background(), e.tenant, "", "fake")
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			tokens[cr.AccessToken]++
			mu.Unlock()
		}(svcs[i%len(svcs)])
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent credentials: %v", err)
	}
	return tokens
}

func TestConcurrentRefreshIsSingle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, fakeprovider.Quirks{RotateRefresh: true, SlowToken: 50 * time.Millisecond}, nil)
		e.connect("fake", connect.ConnectOptions{})
		e.clock.Advance(2 * time.Hour)
		tokens := hammer(t, e, []*connect.Service{e.svc}, 200)
		if got := e.fp.Refreshes(); got != 1 {
			t.Fatalf("provider saw %d refreshes, want 1", got)
		}
		if len(tokens) != 1 {
			t.Fatalf("callers got %d different tokens", len(tokens))
		}
		// The rotated refresh token was stored: the next refresh works.
		e.clock.Advance(2 * time.Hour)
		if _, _, err := e.svc.Credentials(context.Background(), e.tenant, "", "fake"); err != nil {
			t.Fatalf("refresh with the rotated token: %v", err)
		}
		if e.fp.Refreshes() != 2 {
			t.Fatalf("refreshes %d, want 2", e.fp.Refreshes())
		}
	})
}

// TestRefreshAcrossServices runs two Services on two separate pools of one
// Postgres database, as two replicas would: 500 concurrent callers split
// across them cause exactly one refresh.
func TestRefreshAcrossServices(t *testing.T) {
	pg := storetest.Postgres(t)
	e := newEnv(t, pg.Store, fakeprovider.Quirks{RotateRefresh: true, SlowToken: 100 * time.Millisecond}, nil)
	other, err := postgres.Open(context.Background(), pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	svc2 := e.newServiceOn(other)
	e.connect("fake", connect.ConnectOptions{})
	e.clock.Advance(2 * time.Hour)
	tokens := hammer(t, e, []*connect.Service{e.svc, svc2}, 500)
	if got := e.fp.Refreshes(); got != 1 {
		t.Fatalf("provider saw %d refreshes across two services, want 1", got)
	}
	if len(tokens) != 1 {
		t.Fatalf("callers got %d different tokens", len(tokens))
	}
	// A forced refresh (after a 401) on one replica right after another's
	// refresh is collapsed; after the interval it refreshes.
	_, c, _ := svc2.Credentials(context.Background(), e.tenant, "", "fake")
	if _, err := e.svc.ForceRefresh(context.Background(), e.tenant, c.ID); err != nil || e.fp.Refreshes() != 1 {
		t.Fatalf("force refresh right after a refresh: %v, refreshes %d", err, e.fp.Refreshes())
	}
	e.clock.Advance(10 * time.Second)
	cr, err := e.svc.ForceRefresh(context.Background(), e.tenant, c.ID)
	if err != nil || e.fp.Refreshes() != 2 || tokens[cr.AccessToken] != 0 {
		t.Fatalf("forced refresh: %v, refreshes %d", err, e.fp.Refreshes())
	}
}

func TestInvalidGrantExpiresWithWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		rcv := newReceiver(t)
		secret, err := e.hooks.SetTenantWebhook(ctx, e.tenant, rcv.srv.URL)
		if err != nil || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("set webhook: %q %v", secret, err)
		}
		rcv.mu.Lock()
		rcv.secret = secret
		rcv.mu.Unlock()
		e.connect("fake", connect.ConnectOptions{})
		if d := rcv.wait(t, webhook.EventConnectionCreated); d.Provider != "fake" {
			t.Fatalf("created event %+v", d)
		}
		e.fp.FailNextRefresh("invalid_grant")
		e.clock.Advance(2 * time.Hour)
		_, _, err = e.svc.Credentials(ctx, e.tenant, "", "fake")
		ce, _ := connect.AsError(err)
		if ce == nil || ce.Code != connect.CodeConnectionExpired {
			t.Fatalf("credentials after invalid_grant: %v", err)
		}
		status, _ := e.svc.Status(ctx, e.tenant, "", "fake")
		if status.Connected || status.Connection.Status != store.StatusExpired || !strings.Contains(status.Connection.StatusReason, "invalid_grant") {
			t.Fatalf("status %+v", status.Connection)
		}
		d := rcv.wait(t, webhook.EventConnectionRefreshFailed)
		if d.Status != store.StatusExpired || !strings.Contains(d.Reason, "invalid_grant") {
			t.Fatalf("webhook data %+v", d)
		}
		// No further refresh attempts on an expired connection.
		_, _, _ = e.svc.Credentials(ctx, e.tenant, "", "fake")
		if e.fp.Refreshes() != 1 {
			t.Fatalf("refreshes %d after expiry, want 1", e.fp.Refreshes())
		}
		e.hooks.Wait()
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if rcv.bad != 0 {
			t.Fatalf("%d deliveries failed verification", rcv.bad)
		}
	})
}

func TestTransientFailureBacksOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		rcv := newReceiver(t)
		rcv.secret, _ = e.hooks.SetTenantWebhook(ctx, e.tenant, rcv.srv.URL)
		e.connect("fake", connect.ConnectOptions{})
		e.fp.FailRefreshTransient(1)
		e.clock.Advance(2 * time.Hour)
		_, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake")
		if ce, _ := connect.AsError(err); ce == nil || ce.Code != connect.CodeRefreshFailed {
			t.Fatalf("credentials during outage: %v", err)
		}
		status, _ := e.svc.Status(ctx, e.tenant, "", "fake")
		if status.Connection.Status != store.StatusActive || !strings.Contains(status.Connection.StatusReason, "temporarily") {
			t.Fatalf("status during outage %+v", status.Connection)
		}
		// Within the cooldown nobody calls the provider again.
		for i := 0; i < 5; i++ {
			e.svc.Credentials(ctx, e.tenant, "", "fake")
		}
		if e.fp.Refreshes() != 1 {
			t.Fatalf("refreshes during cooldown %d, want 1", e.fp.Refreshes())
		}
		e.clock.Advance(31 * time.Second)
		if _, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake"); err != nil {
			t.Fatalf("after cooldown: %v", err)
		}
		if e.fp.Refreshes() != 2 {
			t.Fatalf("refreshes %d, want 2", e.fp.Refreshes())
		}
		rcv.wait(t, webhook.EventConnectionRefreshFailed)
		rcv.wait(t, webhook.EventConnectionRecovered)
		status, _ = e.svc.Status(ctx, e.tenant, "", "fake")
		if !status.Connected || status.Connection.StatusReason != "" {
			t.Fatalf("status after recovery %+v", status.Connection)
		}
		e.hooks.Wait()
	})
}

func TestCredentialKinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{APIKeyHeader: "X-API-Key"}, nil)
		e.cat["keyed"] = &catalog.Descriptor{ID: "keyed", Auth: catalog.Auth{Kind: catalog.AuthAPIKey,
			APIKeyIn: "header", APIKeyName: "X-API-Key", CheckURL: e.fp.URL + "/api/key-check"}}
		e.cat["basicp"] = &catalog.Descriptor{ID: "basicp", Auth: catalog.Auth{Kind: catalog.AuthBasic, CheckURL: e.fp.URL + "/api/key-check"}}
		e.cat["customp"] = &catalog.Descriptor{ID: "customp", Auth: catalog.Auth{Kind: catalog.AuthCustom, CredentialFields: []string{"subdomain", "token"}}}
		e.cat["ccp"] = &catalog.Descriptor{ID: "ccp", Auth: catalog.Auth{Kind: catalog.AuthOAuth2CC, TokenURL: e.fp.URL + "/oauth/token", TokenAuth: "basic"}}

		_, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "keyed", connect.CredentialsInput{APIKey: "wrong"})
		if ce, _ := connect.AsError(err); ce == nil || ce.Code != connect.CodeInvalidCredentials {
			t.Fatalf("wrong key: %v", err)
		}
		if e.connectionCount() != 0 {
			t.Fatal("rejected key was stored")
		}
		if _, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "keyed", connect.CredentialsInput{APIKey: e.fp.APIKey}); err != nil {
			t.Fatal(err)
		}
		cr, _, err := e.svc.Credentials(ctx, e.tenant, "", "keyed")
		if err != nil || cr.APIKey != e.fp.APIKey || cr.Type != catalog.AuthAPIKey {
			t.Fatalf("api key credentials %v", err)
		}

		if _, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "basicp", connect.CredentialsInput{Username: e.fp.APIKey}); err != nil {
			t.Fatalf("basic: %v", err)
		}

		_, err = e.svc.ConnectCredentials(ctx, e.tenant, "", "customp", connect.CredentialsInput{Fields: map[string]string{"subdomain": "acme"}})
		if ce, _ := connect.AsError(err); ce == nil || !strings.Contains(ce.Message(), "token is required") {
			t.Fatalf("custom missing field: %v", err)
		}
		if _, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "customp", connect.CredentialsInput{Fields: map[string]string{"subdomain": "acme", "token": "t1"}}); err != nil {
			t.Fatal(err)
		}
		cr, _, _ = e.svc.Credentials(ctx, e.tenant, "", "customp")
		if cr.Fields["token"] != "t1" {
			t.Fatalf("custom fields %v", cr.Fields)
		}

		c, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "ccp", connect.CredentialsInput{Fields: map[string]string{"client_id": e.fp.ClientID, "client_secret": e.fp.ClientSecret}})
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		cr, _, _ = e.svc.Credentials(ctx, e.tenant, "", "ccp")
		if !strings.HasPrefix(cr.AccessToken, "cc_") || cr.Fields["client_secret"] != "" {
			t.Fatalf("cc credentials token %q, fields leak secret: %v", cr.AccessToken[:3], cr.Fields["client_secret"] != "")
		}
		e.clock.Advance(2 * time.Hour)
		cr2, _, err := e.svc.Credentials(ctx, e.tenant, "", "ccp")
		if err != nil || cr2.AccessToken == cr.AccessToken {
			t.Fatalf("cc refresh: %v", err)
		}
		list, _ := e.svc.List(ctx, e.tenant)
		if len(list) != 4 || c.ID == "" {
			t.Fatalf("list has %d connections", len(list))
		}

		// {PROVIDER}_API_KEY serves api_key providers without a connection.
		e.vars["KEYED2_API_KEY"] = "env-key"
		e.cat["keyed2"] = &catalog.Descriptor{ID: "keyed2", Auth: catalog.Auth{Kind: catalog.AuthAPIKey}}
		cr, conn, err := e.svc.Credentials(ctx, e.tenant, "", "keyed2")
		if err != nil || cr.APIKey != "env-key" || conn != nil {
			t.Fatalf("env key: %v", err)
		}
		if _, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake"); err == nil {
			t.Fatal("credentials of an unconnected provider")
		}
	})
}

// TestBackgroundRefreshOnRiver runs the sweep and refresh jobs and the
// webhook delivery on a real River client.
func TestBackgroundRefreshOnRiver(t *testing.T) {
	// The Postgres River wiring is tested in host/internal/jobs.
	func() {
		st := storetest.SQLite(t)
		ctx := context.Background()
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		rcv := newReceiver(t)
		rcv.secret, _ = e.hooks.SetTenantWebhook(ctx, e.tenant, rcv.srv.URL)
		workers := river.NewWorkers()
		webhook.AddWorkers(workers, e.hooks)
		connect.AddWorkers(workers, e.svc)
		jc, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers, PeriodicJobs: connect.PeriodicJobs(time.Minute), FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e.hooks.SetQueue(jc)
		e.svc.SetJobs(jc)
		e.connect("fake", connect.ConnectOptions{})
		// The token expires in an hour; move to four minutes before.
		e.clock.Advance(56 * time.Minute)
		if err := jc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jc.Stop(sctx)
		})
		rcv.wait(t, webhook.EventConnectionCreated)
		deadline := time.Now().Add(20 * time.Second)
		for e.fp.Refreshes() == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if e.fp.Refreshes() != 1 {
			t.Fatalf("background refreshes %d, want 1", e.fp.Refreshes())
		}
	}()
}

// BenchmarkCredentials measures the hot path of an execution: load and
// decrypt a fresh token (no refresh).
func BenchmarkCredentials(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCredentials(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchCredentials(b, storetest.Postgres(b).Store) })
}

func benchCredentials(b *testing.B, st store.Store) {
	fp := fakeprovider.New(b, fakeprovider.Quirks{})
	tok := fp.IssueToken(time.Hour)
	kr, _ := vault.New(vault.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
	svc, err := connect.New(connect.Config{Store: st, Keyring: kr, Catalog: catalogMap{"fake": fakeDescriptor("fake", fp)}})
	if err != nil {
		b.Fatal(err)
	}
	tenant := storetest.NewTenant(b, st)
	if err := connect.ImportToken(context.Background(), svc, tenant, "fake", tok.AccessToken, tok.RefreshToken, tok.ExpiresAt); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := svc.Credentials(context.Background(), tenant, "", "fake"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
