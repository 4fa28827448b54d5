package connect_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// FuzzCallback drives Service.Callback with fuzzed providers, states,
// codes and provider error parameters, against a real store holding a
// live state. It never panics, every failure is a *connect.Error (a
// user-facing message, never a 500), anything but the live state is
// "Invalid state", and no connection is stored unless the one real flow
// completes.
func FuzzCallback(f *testing.F) {
	st := storetest.SQLite(f)
	fp := fakeprovider.New(f, fakeprovider.Quirks{RequirePKCE: true})
	kr, err := vault.New(vault.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		f.Fatal(err)
	}
	cat := catalogMap{"fake": fakeDescriptor("fake", fp), "other": fakeDescriptor("other", fp)}
	vars := map[string]string{"FAKE_CLIENT_ID": fp.ClientID, "FAKE_CLIENT_SECRET": fp.ClientSecret,
		"OTHER_CLIENT_ID": fp.ClientID, "OTHER_CLIENT_SECRET": fp.ClientSecret}
	svc, err := connect.New(connect.Config{Store: st, Keyring: kr, Catalog: cat, BaseURL: baseURL,
		Env: func(k string) string { return vars[k] }, HTTPClient: fp.Client()})
	if err != nil {
		f.Fatal(err)
	}
	// Every input starts a connection whose state stays live: lift the
	// per-tenant cap on live states, which is not what this target tests.
	svc.SetLimits(connect.Limits{MaxOAuthStates: 1 << 30})
	tenant := storetest.NewTenant(f, st)
	ctx := context.Background()

	f.Add("fake", "", "code", "", false)
	f.Add("fake", "x", "code", "", true)
	f.Add("other", "", "code", "", true)
	f.Add("fake", "", "", "access_denied", true)
	f.Add("fake", "", "c", "server_error", true)
	f.Add("../fake", "%00", "c\x00", "", false)
	f.Add("", "", "", "", false)
	f.Fuzz(func(t *testing.T, provider, stateSuffix, code, errParam string, live bool) {
		res, err := svc.StartConnect(ctx, tenant, "", "fake", connect.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		state := stateSuffix
		if live {
			state = res.State + stateSuffix
		}
		q := url.Values{"state": {state}, "code": {code}}
		if errParam != "" {
			q.Set("error", errParam)
		}
		cb, err := svc.Callback(ctx, provider, q)
		if err == nil {
			t.Fatalf("callback with a fuzzed code succeeded: %+v", cb)
		}
		ce, ok := connect.AsError(err)
		if !ok {
			t.Fatalf("not a user-facing error: %v", err)
		}
		if ce.Status < 400 || ce.Message() == "" {
			t.Fatalf("error without status or message: %+v", ce)
		}
		if state != res.State && (!errors.Is(err, connect.ErrInvalidState) || ce.Message() != "Invalid state") {
			t.Fatalf("foreign state %q gave %v", state, err)
		}
		if cb.TenantID != "" && cb.TenantID != tenant {
			t.Fatalf("callback bound to tenant %q", cb.TenantID)
		}
		n := 0
		_ = st.InTenant(ctx, tenant, func(tx store.Tx) error {
			cs, err := tx.ListConnections(ctx)
			n = len(cs)
			return err
		})
		if n != 0 {
			t.Fatalf("%d connections stored by a failed callback", n)
		}
	})
}
