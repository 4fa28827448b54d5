package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

// HostileJSON lists JSON values an upstream may send that PostgreSQL's
// jsonb refuses or could misread, each of which a store must give back
// byte for byte.
var HostileJSON = map[string][]byte{
	"nul escape":            []byte(`{"a":"x\u0000y"}`),
	"nul escape in key":     []byte(`{"\u0000":1}`),
	"escaped backslash nul": []byte(`{"a":"\\u0000"}`),
	"raw nul byte":          []byte("{\"a\":\"x\x00y\"}"),
	"invalid utf-8":         []byte("{\"a\":\"\xff\xfe\"}"),
	"truncated utf-8":       []byte("{\"a\":\"\xe2\x82\"}"),
	"lone high surrogate":   []byte(`{"a":"\ud800"}`),
	"lone low surrogate":    []byte(`{"a":"\udc00x"}`),
	"reversed surrogates":   []byte(`["\udc00\ud800"]`),
	"surrogate then text":   []byte(`"\ud83dx"`),
	"huge exponent":         []byte(`{"n":1e-99999}`),
	"long number":           []byte(`[` + strings.Repeat("9", 200) + `]`),
	"looks like stand-in":   []byte(`{"$atom.raw":"eyJhIjoxfQ=="}`),
	"escaped stand-in key":  []byte(`{"\u0024atom.raw":"eyJhIjoxfQ=="}`),
	"stand-in then more":    []byte(`{"$atom.raw":"eA==","b":1}`),
}

// Content checks that execution records, audit details and connection
// parameters keep any content an upstream or a tenant sends, and that a
// value no column holds is refused as store.ErrInvalid naming the field,
// never as an internal error, the same way on every backend.
func Content(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant := NewTenant(t, s)
	for name, raw := range HostileJSON {
		t.Run("execution "+name, func(t *testing.T) {
			e := &store.Execution{Provider: "p", Action: "a", Implementation: "generic", Status: store.ExecPending, Input: raw}
			if err := s.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, e) }); err != nil {
				t.Fatalf("create: %v", err)
			}
			e.Status, e.Output = store.ExecSucceeded, raw
			if err := s.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.FinishExecution(ctx, e) }); err != nil {
				t.Fatalf("finish: %v", err)
			}
			var got *store.Execution
			if err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
				var err error
				got, err = tx.GetExecution(ctx, e.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got.Status != store.ExecSucceeded || !sameJSON(got.Input, raw) || !sameJSON(got.Output, raw) {
				t.Fatalf("stored %q, read back status %s input %q output %q", raw, got.Status, got.Input, got.Output)
			}
		})
	}
	t.Run("execution written in one batch", func(t *testing.T) {
		bw, ok := s.(store.BatchWriter)
		if !ok {
			t.Skip("no batch writer")
		}
		raw := HostileJSON["nul escape"]
		e := &store.Execution{Provider: "p", Action: "a", Implementation: "generic", Status: store.ExecSucceeded, Output: raw, Error: "bad\x00reason\xff"}
		if err := bw.WriteInTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, e) }); err != nil {
			t.Fatalf("batch write: %v", err)
		}
		var got *store.Execution
		s.InTenant(ctx, tenant, func(tx store.Tx) error { got, _ = tx.GetExecution(ctx, e.ID); return nil })
		if got == nil || !bytes.Equal(got.Output, raw) || got.Error != "bad\uFFFDreason\uFFFD" {
			t.Fatalf("read back %+v", got)
		}
	})
	t.Run("free text is cleaned, not refused", func(t *testing.T) {
		e := &store.Execution{Provider: "p", Action: "a", Implementation: "generic", Status: store.ExecFailed, Error: "x\x00y\xff", ErrorCode: "c\x00"}
		if err := s.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, e) }); err != nil {
			t.Fatalf("create: %v", err)
		}
		c := &store.Connection{Provider: "p", AuthKind: "api_key", CredentialsCT: []byte{1}, KeyID: "k", Scope: "a\x00b", StatusReason: "\xff", TokenType: strings.Repeat("é", 300),
			Metadata: map[string]string{"m": "v\x00"}}
		if err := s.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.UpsertConnection(ctx, c) }); err != nil {
			t.Fatalf("upsert connection: %v", err)
		}
		var got *store.Connection
		s.InTenant(ctx, tenant, func(tx store.Tx) error { got, _ = tx.GetConnectionByID(ctx, c.ID); return nil })
		if got == nil || got.Metadata["m"] != "v\x00" || got.Scope != "a\uFFFDb" || got.TokenType != strings.Repeat("é", 40) {
			t.Fatalf("read back %+v", got)
		}
	})
	t.Run("audit details", func(t *testing.T) {
		raw := HostileJSON["nul escape in key"]
		if err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
			return tx.AddAudit(ctx, &store.AuditEvent{Actor: "t", Action: "x", Target: "y", Details: raw})
		}); err != nil {
			t.Fatal(err)
		}
		var list []store.AuditEvent
		s.InTenant(ctx, tenant, func(tx store.Tx) error { list, _ = tx.ListAudit(ctx, 1); return nil })
		if len(list) != 1 || !sameJSON(list[0].Details, raw) {
			t.Fatalf("audit %+v", list)
		}
	})

	long := func(n int) string { return strings.Repeat("é", n) } // two bytes, one character
	refused := []struct {
		name, field string
		fn          func(tx store.Tx) error
	}{
		{"tenant name NUL", "name", func(tx store.Tx) error { return tx.UpdateTenant(ctx, &store.Tenant{Name: "a\x00b"}) }},
		{"tenant name invalid utf-8", "name", func(tx store.Tx) error { return tx.UpdateTenant(ctx, &store.Tenant{Name: "a\xffb"}) }},
		{"tenant name too long", "name", func(tx store.Tx) error {
			return tx.UpdateTenant(ctx, &store.Tenant{Name: long(store.MaxTenantName + 1)})
		}},
		{"webhook url NUL", "url", func(tx store.Tx) error {
			return tx.UpdateTenant(ctx, &store.Tenant{Name: "n", WebhookURL: "https://x/\x00"})
		}},
		{"user id NUL", "id", func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{ID: "u\x00"}) }},
		{"user id too long", "id", func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{ID: long(store.MaxID + 1)}) }},
		{"user email too long", "email", func(tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{Email: long(store.MaxUserEmail + 1)})
		}},
		{"user name invalid utf-8", "name", func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{Name: "\xc3"}) }},
		{"api key name too long", "name", func(tx store.Tx) error {
			return tx.CreateAPIKey(ctx, &store.APIKey{Name: long(store.MaxAPIKeyName + 1), Prefix: "p" + time.Now().Format("150405.000000"), Hash: []byte{1}})
		}},
		{"oauth app client id NUL", "client_id", func(tx store.Tx) error {
			return tx.PutOAuthApp(ctx, &store.OAuthApp{Provider: "p", ClientID: "c\x00", ClientSecretCT: []byte{1}, KeyID: "k"})
		}},
		{"oauth app scopes invalid utf-8", "scopes", func(tx store.Tx) error {
			return tx.PutOAuthApp(ctx, &store.OAuthApp{Provider: "p", ClientID: "c", ClientSecretCT: []byte{1}, KeyID: "k", Scopes: "\xff"})
		}},
		{"connection param NUL", "params.shop", func(tx store.Tx) error {
			return tx.UpsertConnection(ctx, &store.Connection{Provider: "p2", AuthKind: "api_key", CredentialsCT: []byte{1}, KeyID: "k", Params: map[string]string{"shop": "a\x00"}})
		}},
		{"connection param too long", "params.shop", func(tx store.Tx) error {
			return tx.UpsertConnection(ctx, &store.Connection{Provider: "p2", AuthKind: "api_key", CredentialsCT: []byte{1}, KeyID: "k", Params: map[string]string{"shop": long(store.MaxParamValue + 1)}})
		}},
		{"idempotency key too long", "Idempotency-Key", func(tx store.Tx) error {
			return tx.CreateExecution(ctx, &store.Execution{Provider: "p", Action: "a", Implementation: "g", IdempotencyKey: strings.Repeat("k", store.MaxIdempotencyKey+1)})
		}},
		{"kv key too long", "key", func(tx store.Tx) error { return tx.KVPut(ctx, "p", long(store.MaxKVKey+1), []byte{1}) }},
		{"kv key NUL", "key", func(tx store.Tx) error { _, _, err := tx.KVGet(ctx, "p", "k\x00"); return err }},
		{"idempotency key invalid utf-8", "Idempotency-Key", func(tx store.Tx) error {
			return tx.CreateExecution(ctx, &store.Execution{Provider: "p", Action: "a", Implementation: "g", IdempotencyKey: "k\xff"})
		}},
	}
	for _, c := range refused {
		t.Run("refuses "+c.name, func(t *testing.T) {
			err := s.InTenant(ctx, tenant, c.fn)
			var ie *store.InvalidError
			if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &ie) || ie.Field != c.field {
				t.Fatalf("got %v, want an invalid %s", err, c.field)
			}
		})
	}
	accepted := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"tenant name at limit", func(tx store.Tx) error { return tx.UpdateTenant(ctx, &store.Tenant{Name: long(store.MaxTenantName)}) }},
		{"user at limits", func(tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{ID: strings.Repeat("u", store.MaxID), Email: long(store.MaxUserEmail), Name: long(store.MaxUserName)})
		}},
		{"idempotency key at limit", func(tx store.Tx) error {
			return tx.CreateExecution(ctx, &store.Execution{Provider: strings.Repeat("p", store.MaxProvider), Action: long(store.MaxAction), Implementation: "g", IdempotencyKey: strings.Repeat("k", store.MaxIdempotencyKey)})
		}},
		{"connection param at limit", func(tx store.Tx) error {
			return tx.UpsertConnection(ctx, &store.Connection{Provider: "p3", AuthKind: "api_key", CredentialsCT: []byte{1}, KeyID: "k", Params: map[string]string{"shop": long(store.MaxParamValue)}})
		}},
	}
	for _, c := range accepted {
		t.Run("accepts "+c.name, func(t *testing.T) {
			if err := s.InTenant(ctx, tenant, c.fn); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sameJSON reports whether got is want byte for byte or, for a value
// jsonb holds as it means, the same JSON in jsonb's normal form.
func sameJSON(got, want []byte) bool {
	if bytes.Equal(got, want) {
		return true
	}
	if !sqlcore.JSONBSafe(want) {
		return false
	}
	var g, w any
	return json.Unmarshal(got, &g) == nil && json.Unmarshal(want, &w) == nil && reflect.DeepEqual(g, w)
}
