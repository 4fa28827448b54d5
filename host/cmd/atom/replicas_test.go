package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestTwoReplicas runs two `atom serve` processes on one PostgreSQL
// database, as behind a load balancer:
//   - an OAuth flow started on replica A completes on replica B;
//   - 500 concurrent calls that need an expired token, split across both,
//     make exactly one refresh at the provider, all succeed, and the
//     rotated refresh token is the one stored.
func TestTwoReplicas(t *testing.T) {
	pg := storetest.NewPostgres(t)
	dir := t.TempDir()
	portA, portB := freePort(t), freePort(t)
	baseB := fmt.Sprintf("http://127.0.0.1:%d", portB)
	fp := fakeprovider.New(t, fakeprovider.Quirks{
		RotateRefresh: true,
		RequirePKCE:   true,
		RedirectURI:   baseB + "/api/integrations/fake/callback",
	})
	fpURL, _ := url.Parse(fp.URL)
	catDir := filepath.Join(dir, "catalog")
	os.MkdirAll(catDir, 0o700)
	desc := fmt.Sprintf(`{"id":"fake","name":"Fake","categories":["development"],
		"auth":{"kind":"oauth2","authorization_url":"%[1]s/oauth/authorize","token_url":"%[1]s/oauth/token",
		"revocation_url":"%[1]s/oauth/revoke","pkce":true,"scopes":["read"]},
		"api":{"base_url":"%[1]s/api"},"implementations":["generic"],"connectable":true}`, fp.URL)
	os.WriteFile(filepath.Join(catDir, "fake.json"), []byte(desc), 0o600)
	keys, _ := vault.Generate("k1")
	env := []string{
		"ATOM_DATABASE_URL=" + pg.AppURL, "ATOM_MIGRATE_DATABASE_URL=" + pg.OwnerURL,
		"ATOM_ENCRYPTION_KEYS=" + keys, "ATOM_ADMIN_KEY=" + testAdminKey,
		"ATOM_CATALOG_DIR=" + catDir, "ATOM_BASE_URL=" + baseB,
		"ATOM_ALLOW_PRIVATE_HOSTS=" + fpURL.Host, "ATOM_RATE_LIMIT=-1", "ATOM_TENANT_RATE_LIMIT=0", "ATOM_TENANT_MAX_CONCURRENT=1000",
		"ATOM_PLUGIN_DIR=" + filepath.Join(dir, "plugins"), "ATOM_DATA_DIR=" + filepath.Join(dir, "data"),
		"FAKE_CLIENT_ID=" + fp.ClientID, "FAKE_CLIENT_SECRET=" + fp.ClientSecret,
		"ATOM_DEV=false", "ATOM_LOG_LEVEL=warn",
	}
	// Both start at once: migrations serialize on the advisory lock.
	a := launchAtom(t, dir, portA, env)
	b := launchAtom(t, dir, portB, env)
	a.waitHealthy(t)
	b.waitHealthy(t)

	_, body := call(t, "POST", a.base+"/api/v1/tenants", testAdminKey, map[string]any{"name": "Acme"})
	tenant := body["id"].(string)
	_, body = call(t, "POST", a.base+"/api/v1/tenants/"+tenant+"/api-keys", testAdminKey, nil)
	key := body["key"].(string)

	// OAuth: state created on A, callback lands on B.
	st, body := call(t, "GET", a.base+"/api/integrations/fake?action=connect", key, nil)
	if st != 200 {
		t.Fatalf("connect on A: %d %v", st, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(body["authUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, baseB+"/api/integrations/fake/callback?") {
		t.Fatalf("provider redirected to %q, want replica B's callback", callback)
	}
	resp, err = noFollow.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasSuffix(loc, "/integrations?success=fake") {
		t.Fatalf("callback on B: %d → %q", resp.StatusCode, loc)
	}
	if st, body := call(t, "GET", a.base+"/api/integrations/fake?action=status", key, nil); st != 200 || body["connected"] != true {
		t.Fatalf("status on A after callback on B: %d %v", st, body)
	}

	// Expire the stored token, then 500 concurrent calls across both.
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `UPDATE integration_tokens SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	before := fp.Refreshes()
	const n = 500
	var failed []string
	var mu sync.Mutex
	var calls sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		base := a.base
		if i%2 == 1 {
			base = b.base
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			<-start
			st, body := call(t, "POST", base+"/api/v1/integrations/fake/actions/custom_api_call", key,
				map[string]any{"input": map[string]any{"method": "GET", "path": "/me"}})
			if st != 200 {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%d %v", st, body))
				mu.Unlock()
			}
		}()
	}
	close(start)
	calls.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d calls failed, first: %s", len(failed), n, failed[0])
	}
	if got := fp.Refreshes() - before; got != 1 {
		t.Fatalf("provider saw %d refreshes for %d concurrent calls on 2 replicas, want exactly 1", got, n)
	}

	// The rotated refresh token was stored: another forced refresh works
	// (the fake rejects the old, rotated-away refresh token).
	owner.Exec(ctx, `UPDATE integration_tokens SET expires_at = now() - interval '1 minute'`)
	// Replicas keep decrypted credentials for a moment; a token changed
	// behind their back (this SQL) is seen once that passes.
	time.Sleep(connect.DefaultCredentialCacheTTL + 500*time.Millisecond)
	if st, body := call(t, "POST", b.base+"/api/v1/integrations/fake/actions/custom_api_call", key,
		map[string]any{"input": map[string]any{"method": "GET", "path": "/me"}}); st != 200 {
		t.Fatalf("call after second expiry: %d %v", st, body)
	}
	if got := fp.Refreshes() - before; got != 2 {
		t.Fatalf("refreshes after second expiry: %d, want 2", got)
	}
	if st, body := call(t, "GET", a.base+"/api/integrations/fake?action=status", key, nil); st != 200 ||
		body["connection"].(map[string]any)["status"] != "active" {
		t.Fatalf("status: %d %v", st, body)
	}
}

const testAdminKey = "adm_replicas_0123456789"

func call(t *testing.T, method, u, key string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"transport": err.Error()}
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}
