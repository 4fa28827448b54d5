package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// Conformance runs the shared behavioural suite every store.Store must
// pass.
func Conformance(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewTenant(t, s), NewTenant(t, s)
	in := func(tenant string, fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTenant(ctx, tenant, fn); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("tenant", func(t *testing.T) {
		in(a, func(tx store.Tx) error {
			tn, err := tx.GetTenant(ctx)
			if err != nil || tn.ID != a {
				t.Fatalf("get tenant: %v %v", tn, err)
			}
			tn.WebhookURL = "https://example.test/hook"
			return tx.UpdateTenant(ctx, tn)
		})
		if err := s.InTenant(ctx, a, func(tx store.Tx) error { return tx.CreateTenant(ctx, &store.Tenant{ID: b, Name: "x"}) }); err == nil {
			t.Fatal("created a tenant other than the transaction's")
		}
		ids, err := s.TenantIDs(ctx)
		if err != nil || !contains(ids, a) || !contains(ids, b) {
			t.Fatalf("tenant ids %v %v", ids, err)
		}
	})

	t.Run("api keys", func(t *testing.T) {
		k := &store.APIKey{Name: "ci", Prefix: "atk_" + a[len(a)-8:], Hash: []byte{1, 2, 3}}
		in(a, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, k) })
		got, err := s.LookupAPIKey(ctx, k.Prefix)
		if err != nil || got.TenantID != a || !bytes.Equal(got.Hash, k.Hash) || got.RevokedAt != nil {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, err := s.LookupAPIKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing key: %v", err)
		}
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID, time.Now()) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant revoked a key: %v", err)
		}
		in(a, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID, time.Now()) })
		got, _ = s.LookupAPIKey(ctx, k.Prefix)
		if got.RevokedAt == nil {
			t.Fatal("not revoked")
		}
		dup := &store.APIKey{Prefix: k.Prefix, Hash: []byte{9}}
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, dup) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate prefix: %v", err)
		}
	})

	t.Run("oauth states are single use", func(t *testing.T) {
		st := &store.OAuthState{StateHash: "hash-" + a, Provider: "slack", RedirectURI: "http://x/cb", ExpiresAt: time.Now().Add(10 * time.Minute), Extra: []byte(`{"return_to":"/integrations"}`), SecretCT: []byte{7, 7}, KeyID: "k1"}
		in(a, func(tx store.Tx) error { return tx.CreateState(ctx, st) })
		tid, err := s.LookupStateTenant(ctx, st.StateHash, time.Now())
		if err != nil || tid != a {
			t.Fatalf("lookup state: %q %v", tid, err)
		}
		if _, err := s.LookupStateTenant(ctx, st.StateHash, time.Now().Add(11*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired state found: %v", err)
		}
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.ConsumeState(ctx, st.StateHash); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant consumed state: %v", err)
		}
		in(a, func(tx store.Tx) error {
			got, err := tx.ConsumeState(ctx, st.StateHash)
			if err != nil || got.Provider != "slack" || string(got.Extra) == "" || !bytes.Equal(got.SecretCT, st.SecretCT) || got.RedirectURI != st.RedirectURI {
				t.Fatalf("consume: %+v %v", got, err)
			}
			if _, err := tx.ConsumeState(ctx, st.StateHash); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("replayed state: %v", err)
			}
			return nil
		})
		old := &store.OAuthState{StateHash: "old-" + a, Provider: "x", ExpiresAt: time.Now().Add(-time.Minute)}
		in(a, func(tx store.Tx) error {
			if err := tx.CreateState(ctx, old); err != nil {
				return err
			}
			n, err := tx.DeleteExpiredStates(ctx, time.Now())
			if n != 1 {
				t.Fatalf("deleted %d expired states", n)
			}
			return err
		})
	})

	t.Run("connections", func(t *testing.T) {
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		c := &store.Connection{Provider: "github", AuthKind: "oauth2", CredentialsCT: []byte("ct1"), KeyID: "k1", ExpiresAt: &exp, Scope: "repo", Metadata: map[string]string{"instance_url": "https://x"}, Params: map[string]string{"shop": "s"}}
		in(a, func(tx store.Tx) error { return tx.UpsertConnection(ctx, c) })
		if c.ID == "" || c.Version != 1 {
			t.Fatalf("upsert: %+v", c)
		}
		// Tenant-wide upsert again replaces the same row (NULLS NOT DISTINCT).
		again := &store.Connection{Provider: "github", AuthKind: "oauth2", CredentialsCT: []byte("ct2"), KeyID: "k1"}
		in(a, func(tx store.Tx) error { return tx.UpsertConnection(ctx, again) })
		if again.ID != c.ID || again.Version != 2 {
			t.Fatalf("second upsert made a new row or kept version: %s vs %s v%d", again.ID, c.ID, again.Version)
		}
		in(a, func(tx store.Tx) error {
			list, err := tx.ListConnections(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %d %v", len(list), err)
			}
			got, err := tx.GetConnection(ctx, "github", "")
			if err != nil || string(got.CredentialsCT) != "ct2" || got.Version != 2 || got.Status != store.StatusActive {
				t.Fatalf("get: %+v %v", got, err)
			}
			got.Status, got.StatusReason = store.StatusExpired, "invalid_grant: token revoked"
			got.ExpiresAt = &exp
			if err := tx.UpdateConnection(ctx, got); err != nil {
				return err
			}
			stale := *got
			stale.Version = 2
			if err := tx.UpdateConnection(ctx, &stale); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("stale CAS write: %v", err)
			}
			locked, err := tx.LockConnection(ctx, got.ID)
			if err != nil || locked.Version != 3 || locked.StatusReason == "" || !locked.ExpiresAt.Equal(exp) {
				t.Fatalf("lock: %+v %v", locked, err)
			}
			return nil
		})
		// A user's connection is separate from the tenant-wide one.
		in(a, func(tx store.Tx) error {
			u := &store.User{Email: "u@example.test"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			uc := &store.Connection{UserID: u.ID, Provider: "github", AuthKind: "oauth2", CredentialsCT: []byte("u"), KeyID: "k1"}
			if err := tx.UpsertConnection(ctx, uc); err != nil {
				return err
			}
			if uc.ID == c.ID {
				t.Fatal("user connection replaced tenant-wide one")
			}
			got, err := tx.GetConnection(ctx, "github", u.ID)
			if err != nil || got.UserID != u.ID {
				t.Fatalf("user conn: %+v %v", got, err)
			}
			return nil
		})
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetConnectionByID(ctx, c.ID); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant read a connection: %v", err)
		}
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { return tx.DeleteConnection(ctx, c.ID) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant deleted a connection: %v", err)
		}
		due, err := s.DueConnections(ctx, time.Now().Add(2*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			if d.ConnectionID == c.ID {
				t.Fatal("expired-status connection listed as due")
			}
		}
		active := &store.Connection{Provider: "slack", AuthKind: "oauth2", CredentialsCT: []byte("x"), KeyID: "k1", ExpiresAt: &exp}
		in(b, func(tx store.Tx) error { return tx.UpsertConnection(ctx, active) })
		due, _ = s.DueConnections(ctx, time.Now().Add(2*time.Hour), 100)
		if !containsRef(due, b, active.ID) {
			t.Fatalf("due connections %v miss %s", due, active.ID)
		}
		in(a, func(tx store.Tx) error { return tx.DeleteConnection(ctx, c.ID) })
	})

	t.Run("oauth apps", func(t *testing.T) {
		in(a, func(tx store.Tx) error {
			if err := tx.PutOAuthApp(ctx, &store.OAuthApp{Provider: "slack", ClientID: "cid", ClientSecretCT: []byte("s1"), KeyID: "k1"}); err != nil {
				return err
			}
			if err := tx.PutOAuthApp(ctx, &store.OAuthApp{Provider: "slack", ClientID: "cid2", ClientSecretCT: []byte("s2"), KeyID: "k1"}); err != nil {
				return err
			}
			app, err := tx.GetOAuthApp(ctx, "slack")
			if err != nil || app.ClientID != "cid2" {
				t.Fatalf("app: %+v %v", app, err)
			}
			return nil
		})
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetOAuthApp(ctx, "slack"); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant's app visible: %v", err)
		}
	})

	t.Run("executions", func(t *testing.T) {
		e := &store.Execution{Provider: "stripe", Action: "get_balance", Implementation: "native", IdempotencyKey: "idem-1", Input: []byte(`{"a":1}`)}
		in(a, func(tx store.Tx) error { return tx.CreateExecution(ctx, e) })
		dupe := &store.Execution{Provider: "stripe", Action: "get_balance", Implementation: "native", IdempotencyKey: "idem-1"}
		if err := s.InTenant(ctx, a, func(tx store.Tx) error { return tx.CreateExecution(ctx, dupe) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate idempotency key: %v", err)
		}
		// Another tenant may use the same key.
		in(b, func(tx store.Tx) error {
			return tx.CreateExecution(ctx, &store.Execution{Provider: "stripe", Action: "x", Implementation: "native", IdempotencyKey: "idem-1"})
		})
		in(a, func(tx store.Tx) error {
			e.Status, e.Output, e.DurationMS = store.ExecSucceeded, []byte(`{"ok":true}`), 12
			if err := tx.FinishExecution(ctx, e); err != nil {
				return err
			}
			got, err := tx.FindExecutionByKey(ctx, "idem-1", time.Now().Add(-24*time.Hour))
			if err != nil || got.ID != e.ID || got.Status != store.ExecSucceeded || got.FinishedAt == nil {
				t.Fatalf("by key: %+v %v", got, err)
			}
			if _, err := tx.FindExecutionByKey(ctx, "idem-1", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("key outside window: %v", err)
			}
			for i := 0; i < 3; i++ {
				if err := tx.CreateExecution(ctx, &store.Execution{Provider: "slack", Action: "post", Implementation: "native"}); err != nil {
					return err
				}
			}
			list, err := tx.ListExecutions(ctx, store.ExecutionFilter{Provider: "slack", Limit: 2})
			if err != nil || len(list) != 2 || list[0].ID < list[1].ID {
				t.Fatalf("list: %v %v", list, err)
			}
			all, _ := tx.ListExecutions(ctx, store.ExecutionFilter{})
			if len(all) != 4 {
				t.Fatalf("all executions: %d", len(all))
			}
			return nil
		})
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetExecution(ctx, e.ID); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant read an execution: %v", err)
		}
	})

	t.Run("execution states", func(t *testing.T) {
		// pending → running → settled; a settled record is never rewritten.
		x := &store.Execution{Provider: "stripe", Action: "refund", Implementation: "native", JobID: 42}
		in(a, func(tx store.Tx) error { return tx.CreateExecution(ctx, x) })
		start := time.Now().UTC().Truncate(time.Millisecond)
		in(a, func(tx store.Tx) error { return tx.StartExecution(ctx, x.ID, start) })
		refs, err := s.UnsettledExecutions(ctx, 1000)
		var ref *store.ExecRef
		for i := range refs {
			if refs[i].ID == x.ID {
				ref = &refs[i]
			}
		}
		if err != nil || ref == nil || ref.TenantID != a || ref.Status != store.ExecRunning || ref.JobID != 42 || ref.StartedAt == nil || !ref.StartedAt.Equal(start) {
			t.Fatalf("unsettled: %+v %v", ref, err)
		}
		// The reconciler's compare-and-swap: from pending fails, from running wins.
		u := *x
		u.Status, u.ErrorCode = store.ExecUnknown, "outcome_unknown"
		if err := s.InTenant(ctx, a, func(tx store.Tx) error { return tx.SettleExecution(ctx, &u, store.ExecPending) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("settle from the wrong status: %v", err)
		}
		in(a, func(tx store.Tx) error { return tx.SettleExecution(ctx, &u, store.ExecRunning) })
		// A late outcome and a late start leave the settled record alone.
		late := *x
		late.Status = store.ExecSucceeded
		if err := s.InTenant(ctx, a, func(tx store.Tx) error { return tx.FinishExecution(ctx, &late) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("finish of a settled record: %v", err)
		}
		if err := s.InTenant(ctx, a, func(tx store.Tx) error { return tx.StartExecution(ctx, x.ID, time.Now()) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("start of a settled record: %v", err)
		}
		in(a, func(tx store.Tx) error {
			got, err := tx.GetExecution(ctx, x.ID)
			if err != nil || got.Status != store.ExecUnknown || got.JobID != 42 || got.StartedAt == nil {
				t.Fatalf("settled record: %+v %v", got, err)
			}
			return nil
		})
		// Another tenant's records are out of reach; absent ones are not found.
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { return tx.StartExecution(ctx, x.ID, time.Now()) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("start of another tenant's record: %v", err)
		}
		if err := s.InTenant(ctx, b, func(tx store.Tx) error { return tx.FinishExecution(ctx, &late) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish of another tenant's record: %v", err)
		}
		refs, _ = s.UnsettledExecutions(ctx, 1000)
		for _, r := range refs {
			if r.ID == x.ID {
				t.Fatal("a settled record is listed as unsettled")
			}
		}
	})

	t.Run("kv and audit", func(t *testing.T) {
		in(a, func(tx store.Tx) error {
			if err := tx.KVPut(ctx, "discord", "cursor", []byte("1")); err != nil {
				return err
			}
			if err := tx.KVPut(ctx, "discord", "cursor", []byte("2")); err != nil {
				return err
			}
			v, ok, err := tx.KVGet(ctx, "discord", "cursor")
			if err != nil || !ok || string(v) != "2" {
				t.Fatalf("kv: %q %v %v", v, ok, err)
			}
			return tx.AddAudit(ctx, &store.AuditEvent{Actor: "admin", Action: "apikey.create", Target: "key_1", Details: []byte(`{}`)})
		})
		in(b, func(tx store.Tx) error {
			_, ok, err := tx.KVGet(ctx, "discord", "cursor")
			if ok {
				t.Fatal("kv leaked across tenants")
			}
			ev, _ := tx.ListAudit(ctx, 10)
			if len(ev) != 0 {
				t.Fatal("audit leaked across tenants")
			}
			return err
		})
	})

	t.Run("revoked sessions", func(t *testing.T) {
		now := time.Now()
		revoked := func(tenant, hash string, at time.Time) bool {
			t.Helper()
			var ok bool
			in(tenant, func(tx store.Tx) error {
				var err error
				ok, err = tx.SessionRevoked(ctx, hash, at)
				return err
			})
			return ok
		}
		in(a, func(tx store.Tx) error { return tx.RevokeSession(ctx, "h1", now.Add(time.Hour)) })
		in(a, func(tx store.Tx) error { return tx.RevokeSession(ctx, "h1", now.Add(time.Hour)) }) // twice is fine
		in(a, func(tx store.Tx) error { return tx.RevokeSession(ctx, "h-old", now.Add(-time.Second)) })
		if !revoked(a, "h1", now) || revoked(a, "h2", now) || revoked(b, "h1", now) {
			t.Fatal("revocation not scoped to its session and tenant")
		}
		if revoked(a, "h1", now.Add(2*time.Hour)) || revoked(a, "h-old", now) {
			t.Fatal("an expired revocation still counts")
		}
	})

	t.Run("secret rows", func(t *testing.T) {
		var rows []store.SecretRow
		in(a, func(tx store.Tx) error {
			var err error
			rows, err = tx.SecretRows(ctx)
			return err
		})
		var app *store.SecretRow
		for i := range rows {
			if rows[i].TenantID != a {
				t.Fatalf("secret row of another tenant: %+v", rows[i])
			}
			if rows[i].Table == "oauth_apps" {
				app = &rows[i]
			}
		}
		if app == nil {
			t.Fatalf("oauth app secret missing from %v", rows)
		}
		in(a, func(tx store.Tx) error {
			if err := tx.UpdateSecret(ctx, *app, []byte("s3"), "k2"); err != nil {
				return err
			}
			if err := tx.UpdateSecret(ctx, *app, []byte("s4"), "k2"); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("stale secret update: %v", err)
			}
			got, _ := tx.GetOAuthApp(ctx, "slack")
			if string(got.ClientSecretCT) != "s3" || got.KeyID != "k2" {
				t.Fatalf("rotated app: %+v", got)
			}
			return nil
		})
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsRef(list []store.ConnRef, tenant, id string) bool {
	for _, r := range list {
		if r.TenantID == tenant && r.ConnectionID == id {
			return true
		}
	}
	return false
}
