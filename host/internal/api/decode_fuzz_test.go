package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// FuzzJSONBodies posts fuzzed bodies and content types to the admin
// routes that decode JSON: the API answers 2xx or a 4xx in its JSON error
// shape, never a 5xx, and never panics.
func FuzzJSONBodies(f *testing.F) {
	st := storetest.SQLite(f)
	kr, err := vault.New(vault.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		f.Fatal(err)
	}
	const admin = "adm_fuzz_key"
	srv := api.New(api.Deps{Config: config.Config{AdminKey: admin, BodyLimit: 1 << 16}, Store: st, Keyring: kr,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("POST", "/api/v1/tenants", bytes.NewReader([]byte(`{"name":"t"}`)))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.App().Test(req, -1)
	if err != nil || resp.StatusCode != 201 {
		f.Fatalf("create tenant: %v %v", resp, err)
	}
	var tn struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&tn)

	for _, s := range []string{`{"name":"acme"}`, `{"name":1}`, `{"nme":"x"}`, `{"name":"a"} {"name":"b"}`, `[]`, `null`, `"x"`,
		`{"name":"` + string(make([]byte, 300)) + `"}`, `{"name":"\ud800"}`, `{`, ``, `{"name":"a","name":"b"}`} {
		f.Add(uint8(0), "application/json", []byte(s))
		f.Add(uint8(1), "application/json; charset=utf-8", []byte(s))
	}
	f.Add(uint8(0), "text/plain", []byte(`{"name":"x"}`))
	f.Add(uint8(1), "", []byte(`name=x`))
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		path := "/api/v1/tenants"
		if route%2 == 1 {
			path = "/api/v1/tenants/" + tn.ID + "/api-keys"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q (%s): %d %s", path, body, contentType, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without the JSON error shape: %s", resp.StatusCode, raw)
			}
		}
	})
}
