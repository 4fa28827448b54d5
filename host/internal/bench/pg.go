package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

// oauthDescriptor describes the fake OAuth provider at base.
func oauthDescriptor(base string) string {
	return fmt.Sprintf(`{"id":"fake","name":"Fake OAuth","categories":["development"],
 "auth":{"kind":"oauth2","authorization_url":%q,"token_url":%q,"scopes":["read"],"token_auth":"body","token_body":"form"},
 "api":{"base_url":%q},"implementations":["generic"],"connectable":true}`, base+"/oauth/authorize", base+"/oauth/token", base+"/api")
}

// connectOAuth runs the authorization-code flow of the fake for the
// host's tenant, following the fake's redirect by hand.
func connectOAuth(ctx context.Context, h *Host) error {
	res, err := h.H.Connect.StartConnect(ctx, h.Tenant, "", "fake", connect.ConnectOptions{})
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(res.AuthURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 {
		return fmt.Errorf("authorize: %s %v", resp.Status, err)
	}
	_, err = h.H.Connect.Callback(ctx, "fake", loc.Query())
	return err
}

func refreshStorm(ctx context.Context, e *Env) ([]Row, error) {
	fp := fakeprovider.Start(fakeprovider.Quirks{RotateRefresh: true})
	e.onClose(fp.Close)
	db, err := e.NewDatabase(ctx)
	if err != nil {
		return nil, err
	}
	env := map[string]string{"FAKE_CLIENT_ID": fp.ClientID, "FAKE_CLIENT_SECRET": fp.ClientSecret}
	cat := map[string]string{"fake.json": oauthDescriptor(fp.URL)}
	keys, err := vault.Generate("k1")
	if err != nil {
		return nil, err
	}
	a, err := e.StartHost(ctx, HostOptions{DB: db, Env: env, Catalog: cat, Keys: keys})
	if err != nil {
		return nil, err
	}
	b, err := e.StartHost(ctx, HostOptions{DB: db, Env: env, Catalog: cat, Keys: keys, NoTenant: true})
	if err != nil {
		return nil, err
	}
	if err := connectOAuth(ctx, a); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	input := map[string]any{"method": "GET", "path": "/me"}
	reqs := []Request{a.Exec("fake", "custom_api_call", input), a.Exec("fake", "custom_api_call", input)}
	reqs[1].URL = b.URL + reqs[1].URL[len(a.URL):]
	// No call runs before the storm: a host would keep the token it used
	// in its credential cache (2s), and an expiry written by SQL behind its
	// back, unlike one that comes with time, is not seen in that cache.
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		return nil, err
	}
	defer owner.Close(ctx)
	before := fp.Stats().Refreshes
	fp.ExpireAccessTokens()
	if _, err := owner.Exec(ctx, `UPDATE integration_tokens SET expires_at = now() - interval '1 minute' WHERE tenant_id = $1`, a.Tenant); err != nil {
		return nil, err
	}
	early := fp.Stats().Refreshes - before
	calls := 1000
	if e.Opts.Quick {
		calls = 100
	}
	storm := func() (Latencies, int, error) {
		lat := make([]time.Duration, calls)
		errs := make([]error, calls)
		var ready, wg sync.WaitGroup
		gate := make(chan struct{})
		ready.Add(calls)
		for i := range calls {
			wg.Go(func() {
				r := reqs[i%2]
				ready.Done()
				<-gate
				start := time.Now()
				st, body, err := Do(ctx, r)
				lat[i] = time.Since(start)
				if err == nil && st != http.StatusOK {
					err = fmt.Errorf("status %d: %.200s", st, body)
				}
				errs[i] = err
			})
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		failed := 0
		var first error
		for _, err := range errs {
			if err != nil {
				failed++
				first = cmpErr(first, err)
			}
		}
		slices.Sort(lat)
		return lat, failed, first
	}
	lat, failed, first := storm()
	refreshes := fp.Stats().Refreshes - before
	// The same storm again, on the fresh token: the baseline.
	time.Sleep(2500 * time.Millisecond)
	base, bfailed, berr := storm()
	if berr != nil {
		return nil, fmt.Errorf("baseline storm: %d failed: %w", bfailed, berr)
	}
	note := fmt.Sprintf("%d calls released at once, half to each host; %d failed", calls, failed)
	if early > 0 {
		note += fmt.Sprintf("; %d refresh(es) by the background refresher before the storm", early)
	}
	if first != nil {
		note += " (first: " + oneLine(first.Error()) + ")"
	}
	return []Row{
		{Name: "refresh storm: upstream refreshes", Ours: fmt.Sprint(refreshes), Goal: "exactly 1", Met: refreshes == 1 && failed == 0, Note: note},
		{Name: "refresh storm: call latency p50 / p99", Ours: Fmt(lat.P(50)) + " / " + Fmt(lat.P(99)),
			Baseline: Fmt(base.P(50)) + " / " + Fmt(base.P(99)) + " (same storm, fresh token)",
			Note:     "all calls in flight at once: the figures are mostly queueing on 2 cores"},
	}, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func tokenLookup(ctx context.Context, e *Env) ([]Row, error) {
	db, err := e.NewDatabase(ctx)
	if err != nil {
		return nil, err
	}
	h, err := e.StartHost(ctx, HostOptions{DB: db, Catalog: map[string]string{"fakeapi.json": fakeAPIDescriptor}, NoTenant: true})
	if err != nil {
		return nil, err
	}
	total, real, perTenant := 1_000_000, 1000, 100
	if e.Opts.Quick {
		total, real = 20_000, 100
	}
	// Real connections, made through the service, that the lookups read.
	e.logf("lookup: %d real connections through connect.Service", real)
	st := h.H.Store
	tenants := make([]string, real)
	for i := range tenants {
		id := ids.New("ten")
		if err := st.InTenant(ctx, id, func(tx store.Tx) error {
			return tx.CreateTenant(ctx, &store.Tenant{ID: id, Name: "bench " + id})
		}); err != nil {
			return nil, err
		}
		if _, err := h.H.Connect.ConnectCredentials(ctx, id, "", "fakeapi", connect.CredentialsInput{APIKey: "fk_" + id}); err != nil {
			return nil, err
		}
		tenants[i] = id
	}
	// The tables force row-level security even on their owner, which
	// rules out COPY; the superuser loads the rows.
	owner, err := pgx.Connect(ctx, db.SuperURL())
	if err != nil {
		return nil, err
	}
	defer owner.Close(ctx)
	bulk := total - real
	nt := (bulk + perTenant - 1) / perTenant
	e.logf("lookup: COPY %d tenants and %d connections", nt, bulk)
	start := time.Now()
	now := time.Now()
	trows := make([][]any, nt)
	for i := range trows {
		trows[i] = []any{fmt.Sprintf("ten_bulk%07d", i), "bulk", now}
	}
	if _, err := owner.CopyFrom(ctx, pgx.Identifier{"tenants"}, []string{"id", "name", "created_at"}, pgx.CopyFromRows(trows)); err != nil {
		return nil, err
	}
	junk := make([]byte, 96)
	k := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if k >= bulk {
			return nil, nil
		}
		t, p := k/perTenant, k%perTenant
		k++
		exp := now.Add(time.Duration(k%7200) * time.Second)
		return []any{fmt.Sprintf("con_bulk%08d", k), fmt.Sprintf("ten_bulk%07d", t), fmt.Sprintf("provider-%03d", p),
			"oauth2", junk, "k1", exp, "active"}, nil
	})
	if _, err := owner.CopyFrom(ctx, pgx.Identifier{"integration_tokens"},
		[]string{"id", "tenant_id", "provider", "auth_kind", "credentials", "key_id", "expires_at", "status"}, src); err != nil {
		return nil, err
	}
	if _, err := owner.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return nil, err
	}
	var count int64
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM integration_tokens`).Scan(&count); err != nil {
		return nil, err
	}
	e.logf("lookup: %d rows loaded in %s", count, time.Since(start).Round(time.Millisecond))

	order := make([]string, 0, 5*real)
	for range 5 {
		order = append(order, tenants...)
	}
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	i := 0
	next := func() string { t := order[i%len(order)]; i++; return t }
	n := len(order)
	warm := min(200, n)
	// Baseline: the bare indexed query, as the superuser (no row-level
	// security), outside a transaction.
	direct, err := Timed(warm, n, func() error {
		var ct []byte
		return owner.QueryRow(ctx, `SELECT credentials FROM integration_tokens WHERE tenant_id = $1 AND provider = $2 AND user_id IS NULL`, next(), "fakeapi").Scan(&ct)
	})
	if err != nil {
		return nil, err
	}
	storeLat, err := Timed(warm, n, func() error {
		return st.InTenant(ctx, next(), func(tx store.Tx) error {
			_, err := tx.GetConnection(ctx, "fakeapi", "")
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	// A service without the in-memory credential cache, so every lookup
	// reads and decrypts the row.
	cold, err := connect.New(connect.Config{Store: st, Keyring: h.H.Keyring, Catalog: h.H.Catalog.Current(),
		BaseURL: h.URL, Env: func(string) string { return "" }, CredentialCacheTTL: -1})
	if err != nil {
		return nil, err
	}
	svc, err := Timed(warm, n, func() error {
		t := next()
		c, _, err := cold.Credentials(ctx, t, "", "fakeapi")
		if err == nil && c.APIKey != "fk_"+t {
			err = errors.New("wrong credentials returned")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("%s connections over %s tenants; %d lookups each over %d tenants in random order, app role with RLS",
		thousands(count), thousands(int64(nt+real)), n, real)
	return []Row{
		{Name: "token lookup: connect.Service.Credentials p50 / p99 (credential cache off: read + decrypt)", Ours: Fmt(svc.P(50)) + " / " + Fmt(svc.P(99)),
			Baseline: Fmt(direct.P(50)) + " / " + Fmt(direct.P(99)) + " (bare indexed SELECT, no RLS)",
			Goal:     "p99 ≤ 2 ms", Met: svc.P(99) <= 2*time.Millisecond, Note: note},
		{Name: "token lookup: store InTenant + GetConnection p50 / p99", Ours: Fmt(storeLat.P(50)) + " / " + Fmt(storeLat.P(99)),
			Baseline: Fmt(direct.P(50)) + " / " + Fmt(direct.P(99)), Goal: "p99 ≤ 2 ms", Met: storeLat.P(99) <= 2*time.Millisecond},
	}, nil
}
