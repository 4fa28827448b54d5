package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

const adminKey = "adm_test_0123456789abcdef"

// backend is one database a host under test runs on.
type backend struct {
	name string
	cfg  func(t *testing.T, cfg *config.Config)
}

func backends() []backend {
	return []backend{
		{name: "sqlite", cfg: func(t *testing.T, cfg *config.Config) {}},
		{name: "postgres", cfg: func(t *testing.T, cfg *config.Config) {
			pg := storetest.NewPostgres(t)
			cfg.DatabaseURL, cfg.MigrateDatabaseURL = pg.AppURL, pg.OwnerURL
		}},
	}
}

func newHost(t *testing.T, b backend, keys string, mutate func(*config.Config)) *app.Host {
	t.Helper()
	dir := t.TempDir()
	catDir := filepath.Join(dir, "catalog")
	os.MkdirAll(catDir, 0o700)
	os.WriteFile(filepath.Join(catDir, "acme.json"), []byte(`{"id":"acme","name":"Acme API","categories":["development"],
		"auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer "},
		"api":{"base_url":"https://api.acme.test"},"implementations":["generic"],"connectable":true}`), 0o600)
	os.WriteFile(filepath.Join(catDir, "acme-oauth.json"), []byte(`{"id":"acme-oauth","name":"Acme OAuth","categories":["development"],
		"auth":{"kind":"oauth2","authorization_url":"https://auth.acme.test/authorize","token_url":"https://auth.acme.test/token","pkce":true,"scopes":["read"]},
		"api":{"base_url":"https://api.acme.test"},"implementations":["generic"],"connectable":true}`), 0o600)
	cfg, _, err := config.Load("test", nil, func(k string) string {
		switch k {
		case "ATOM_DATA_DIR":
			return dir
		case "ATOM_ENCRYPTION_KEYS":
			return keys
		case "ATOM_ADMIN_KEY":
			return adminKey
		case "ATOM_CATALOG_DIR":
			return catDir
		case "ATOM_BASE_URL":
			return "http://atom.test"
		case "ATOM_LOG_LEVEL":
			return "error"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	b.cfg(t, &cfg)
	if mutate != nil {
		mutate(&cfg)
	}
	env := map[string]string{"ACME_OAUTH_CLIENT_ID": "cid", "ACME_OAUTH_CLIENT_SECRET": "env-secret-not-stored"}
	h, err := app.New(context.Background(), cfg, app.Options{
		Env:    func(k string) string { return env[k] },
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func do(t *testing.T, h *app.Host, method, path, key string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := h.Server.App().Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func newKeys(t *testing.T, ids ...string) string {
	var parts []string
	for _, id := range ids {
		k, err := vault.Generate(id)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, ",")
}

// apiClient calls the host in process through the client generated from
// the OpenAPI document; Strict decoding fails on any field the document
// does not declare.
func apiClient(h *app.Host, token string) *apiclient.Client {
	return &apiclient.Client{BaseURL: "http://atom.test", Token: token, HTTP: fiberDoer{h}, Strict: true}
}

// fiberDoer sends requests to the host's Fiber app without a listener.
type fiberDoer struct{ h *app.Host }

func (d fiberDoer) Do(r *http.Request) (*http.Response, error) {
	return d.h.Server.App().Test(r, 10000)
}

// TestAPIKeys covers tenants, keys and the 401 cases in the error shape.
func TestAPIKeys(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := newHost(t, b, newKeys(t, "k1"), nil)
			ctx := context.Background()
			admin := apiClient(h, adminKey)
			tn, resp, err := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: "Acme"})
			if err != nil || hosttest.StatusOf(resp) != http.StatusCreated || tn.ID == "" {
				t.Fatalf("create tenant: %d %v %+v", hosttest.StatusOf(resp), err, tn)
			}
			tenant := tn.ID
			if _, resp, _ := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: "x"}, apiclient.WithToken("wrong")); hosttest.StatusOf(resp) != 401 {
				t.Fatalf("wrong admin key: %d", hosttest.StatusOf(resp))
			}
			_, resp, err = admin.CreateTenant(ctx, apiclient.CreateTenantRequest{}, apiclient.WithRawBody("application/json", []byte(`{"nme":"x"}`)))
			if hosttest.StatusOf(resp) != 400 || !strings.Contains(hosttest.APIErrorOf(err).Message, "nme") {
				t.Fatalf("unknown field: %d %v", hosttest.StatusOf(resp), err)
			}
			k, resp, err := admin.CreateAPIKey(ctx, tenant, &apiclient.CreateAPIKeyRequest{Name: "ci"})
			if err != nil || hosttest.StatusOf(resp) != 201 {
				t.Fatalf("create key: %d %v", hosttest.StatusOf(resp), err)
			}
			key, keyID := k.Key, k.ID
			if _, resp, _ := admin.CreateAPIKey(ctx, "nope", nil); hosttest.StatusOf(resp) != 404 {
				t.Fatalf("key for unknown tenant: %d", hosttest.StatusOf(resp))
			}
			me, resp, err := apiClient(h, key).GetMe(ctx, nil)
			if err != nil || hosttest.StatusOf(resp) != 200 || me.ID != tenant {
				t.Fatalf("me: %d %v %+v", hosttest.StatusOf(resp), err, me)
			}
			cases := map[string]string{
				"missing":   "",
				"malformed": "not-a-key",
				"wrong":     "atom_" + key[5:13] + "_wrongwrongwrongwrongwrong",
				"unknown":   "atom_zzzzzzzzzzzzz_aaaaaaaaaaaaaaaaaaaaaaaaa",
			}
			for name, k := range cases {
				_, resp, err := apiClient(h, k).GetMe(ctx, nil)
				e := hosttest.APIErrorOf(err)
				if hosttest.StatusOf(resp) != 401 || e.Code != "unauthorized" || e.Message == "" || e.RequestID == "" {
					t.Errorf("%s key: %d %v", name, hosttest.StatusOf(resp), err)
				}
			}
			if resp, err := admin.RevokeAPIKey(ctx, tenant, keyID); hosttest.StatusOf(resp) != 204 {
				t.Fatalf("revoke: %d %v", hosttest.StatusOf(resp), err)
			}
			if _, resp, _ := apiClient(h, key).GetMe(ctx, nil); hosttest.StatusOf(resp) != 401 {
				t.Fatalf("revoked key: %d", hosttest.StatusOf(resp))
			}
			// The list shows the key revoked, without its secret.
			list, _, err := admin.ListAPIKeys(ctx, tenant)
			if err != nil || len(list.Items) != 1 || list.Items[0].ID != keyID || list.Items[0].RevokedAt == nil || list.Items[0].Key != "" {
				t.Fatalf("list keys: %v %+v", err, list)
			}
			// The key itself is stored nowhere.
			for _, v := range hosttest.DumpTables(t, h) {
				if strings.Contains(v, key) || strings.Contains(v, key[14:]) {
					t.Fatalf("API key stored in plaintext: %q", v)
				}
			}
		})
	}
}

func errMsg(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// TestNoPlaintextSecretsAndRotation stores known secrets through every
// path that takes one, scans every column of every table for them, then
// rotates keys and drops the old one.
func TestNoPlaintextSecretsAndRotation(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			oldKeys := newKeys(t, "old")
			h := newHost(t, b, oldKeys, nil)
			ctx := context.Background()
			_, body := do(t, h, "POST", "/api/v1/tenants", adminKey, map[string]any{"name": "Acme"})
			tenant := body["id"].(string)
			_, body = do(t, h, "POST", "/api/v1/tenants/"+tenant+"/api-keys", adminKey, nil)
			key := body["key"].(string)

			secrets := []string{"sk_live_APIKEY_1234567890abcdef", "oauth-app-secret-ABCDEF123456"}
			if st, body := do(t, h, "POST", "/api/v1/connections/acme", key, map[string]any{"fields": map[string]string{"apiKey": secrets[0]}}); st != 201 {
				t.Fatalf("connect api key: %d %v", st, body)
			}
			if st, body := do(t, h, "PUT", "/api/v1/oauth-apps/acme-oauth", key, map[string]any{"client_id": "cid", "client_secret": secrets[1]}); st != 200 {
				t.Fatalf("oauth app: %d %v", st, body)
			}
			if st, body := do(t, h, "GET", "/api/integrations/acme-oauth?action=connect", key, nil); st != 200 || body["state"] == "" {
				t.Fatalf("connect oauth: %d %v", st, body)
			} else {
				secrets = append(secrets, body["state"].(string))
			}
			st, body := do(t, h, "PUT", "/api/v1/webhook", key, map[string]any{"url": "https://hooks.acme.test/atom"})
			if st != 200 || body["secret"] == nil {
				t.Fatalf("webhook: %d %v", st, body)
			}
			secrets = append(secrets, body["secret"].(string))

			scan := func(h *app.Host) {
				t.Helper()
				values := hosttest.DumpTables(t, h)
				if len(values) < 20 {
					t.Fatalf("dump returned only %d values", len(values))
				}
				for _, v := range values {
					for _, s := range secrets {
						if strings.Contains(v, s) {
							t.Fatalf("secret %q found in plaintext in %q", s[:8], v)
						}
					}
				}
			}
			scan(h)

			// A ciphertext moved to another row fails with a clear error.
			var rows []store.SecretRow
			h.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
				var err error
				rows, err = tx.SecretRows(ctx)
				return err
			})
			if len(rows) < 3 {
				t.Fatalf("secret rows: %v", rows)
			}
			moved := rows[0]
			moved.RowID = "con_other"
			_, err := h.Keyring.Open(rows[0].Ciphertext, vault.AD{Table: moved.Table, Column: moved.Column, TenantID: moved.TenantID, Provider: moved.Provider, RowID: moved.RowID})
			if !errors.Is(err, vault.ErrDecrypt) || !strings.Contains(err.Error(), "does not authenticate") {
				t.Fatalf("moved ciphertext: %v", err)
			}
			h.Close(ctx)

			// Rotate: new key first, old still present; then drop the old.
			newKey := newKeys(t, "new")
			kr, err := vault.Parse(newKey + "," + oldKeys)
			if err != nil {
				t.Fatal(err)
			}
			h2 := newHost(t, b, newKey+","+oldKeys, func(c *config.Config) { *c = h.Config; c.EncryptionKeys = newKey + "," + oldKeys })
			var progress bytes.Buffer
			res, err := app.RotateKeys(ctx, h2.Store, kr, &progress)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rotated != len(rows) || !strings.Contains(progress.String(), "rotated:") {
				t.Fatalf("rotated %d of %d: %q", res.Rotated, len(rows), progress.String())
			}
			again, err := app.RotateKeys(ctx, h2.Store, kr, nil)
			if err != nil || again.Rotated != 0 {
				t.Fatalf("second rotation rotated %d: %v", again.Rotated, err)
			}
			onlyNew, _ := vault.Parse(newKey)
			h2.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
				rows, _ := tx.SecretRows(ctx)
				for _, r := range rows {
					if _, err := onlyNew.Open(r.Ciphertext, vault.AD{Table: r.Table, Column: r.Column, TenantID: r.TenantID, Provider: r.Provider, RowID: r.RowID}); err != nil {
						t.Errorf("%s.%s %s after rotation: %v", r.Table, r.Column, r.RowID, err)
					}
				}
				return nil
			})
			h2.Close(ctx)
			h3 := newHost(t, b, newKey, func(c *config.Config) { *c = h.Config; c.EncryptionKeys = newKey })
			creds, _, err := h3.Connect.Credentials(ctx, tenant, "", "acme")
			if err != nil || creds.Fields["apiKey"] != secrets[0] && creds.APIKey != secrets[0] {
				t.Fatalf("credentials after dropping the old key: %+v %v", creds, err)
			}
			scan(h3)
		})
	}
}
