package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// Triggers checks trigger instances on s: tenant isolation of every
// statement, the hook and app lookups, claims and their leases, writes
// under a lease, refused values, and the events of one source.
func Triggers(t *testing.T, s store.Store) {
	ctx := context.Background()
	sys, ok := s.(store.TriggerStore)
	if !ok {
		t.Fatal("the store has no trigger lookups")
	}
	in := func(tenant string, fn func(tx store.Tx, tt store.TriggerTx) error) error {
		return s.InTenant(ctx, tenant, func(tx store.Tx) error { return fn(tx, tx.(store.TriggerTx)) })
	}
	a, b := NewTenant(t, s), NewTenant(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	past := now.Add(-time.Minute)
	mk := func(tenant, kind string) *store.TriggerInstance {
		ti := &store.TriggerInstance{Provider: "fake", Trigger: "new_item", Kind: kind, Input: []byte(`{"q":"x"}`), Deliver: true, Status: store.TriggerActive,
			ConnectionID: "conn_" + tenant, StateCT: []byte{1, 2, 3}}
		switch kind {
		case "polling":
			ti.IntervalSeconds, ti.NextPollAt = 60, &past
		case "webhook":
			ti.HookHash = strings.Repeat("ab", 32)
			if tenant == b {
				ti.HookHash = strings.Repeat("cd", 32)
			}
		case "app_webhook":
			ti.Account = "T1"
		}
		if err := in(tenant, func(_ store.Tx, tt store.TriggerTx) error { return tt.CreateTrigger(ctx, ti) }); err != nil {
			t.Fatal(err)
		}
		return ti
	}
	pa, pb := mk(a, "polling"), mk(b, "polling")
	wa := mk(a, "webhook")
	apA, apB := mk(a, "app_webhook"), mk(b, "app_webhook")

	// Isolation: another tenant's instance is not found, listed, changed
	// or deleted.
	err := in(b, func(_ store.Tx, tt store.TriggerTx) error {
		if _, err := tt.GetTrigger(ctx, pa.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant b reads a's instance: %v", err)
		}
		if err := tt.DeleteTrigger(ctx, pa.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant b deletes a's instance: %v", err)
		}
		cp := *pa
		if err := tt.UpdateTrigger(ctx, &cp, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant b updates a's instance: %v", err)
		}
		if err := tt.TouchTriggerEvent(ctx, wa.ID, time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant b sets the last event time of a's instance: %v", err)
		}
		list, err := tt.ListTriggers(ctx, "", 100)
		if err != nil {
			return err
		}
		for _, ti := range list {
			if ti.TenantID != b {
				t.Errorf("tenant b lists %s of %s", ti.ID, ti.TenantID)
			}
		}
		if len(list) != 2 {
			t.Errorf("tenant b lists %d instances, want 2", len(list))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The last event time alone: the rest of the row is left as it is.
	at := time.Now().UTC().Truncate(time.Millisecond)
	err = in(a, func(_ store.Tx, tt store.TriggerTx) error {
		if err := tt.TouchTriggerEvent(ctx, wa.ID, at); err != nil {
			return err
		}
		got, err := tt.GetTrigger(ctx, wa.ID)
		if err != nil {
			return err
		}
		if got.LastEventAt == nil || !got.LastEventAt.Equal(at) || got.HookHash != wa.HookHash || got.Status != wa.Status || string(got.RegistrationCT) != string(wa.RegistrationCT) {
			t.Errorf("after TouchTriggerEvent: last event %v (want %v), hook %q, status %q", got.LastEventAt, at, got.HookHash, got.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = in(a, func(_ store.Tx, tt store.TriggerTx) error {
		got, err := tt.GetTrigger(ctx, pa.ID)
		if err != nil {
			return err
		}
		if !sameJSON(got.Input, []byte(`{"q":"x"}`)) || !slices.Equal(got.StateCT, []byte{1, 2, 3}) || got.NextPollAt == nil || !got.NextPollAt.Equal(past) || !got.Deliver {
			t.Errorf("read back %+v", got)
		}
		list, err := tt.ListTriggers(ctx, "conn_"+a, 100)
		if err != nil || len(list) != 3 {
			t.Errorf("a's connection lists %d instances (%v), want 3", len(list), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Lookups across tenants.
	if ref, err := sys.LookupTriggerHook(ctx, wa.HookHash); err != nil || ref.TenantID != a || ref.InstanceID != wa.ID {
		t.Errorf("hook lookup: %+v, %v", ref, err)
	}
	if _, err := sys.LookupTriggerHook(ctx, strings.Repeat("00", 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hook: %v", err)
	}
	refs, err := sys.AppTriggers(ctx, "fake", "T1", 10)
	if err != nil || len(refs) != 2 || !slices.ContainsFunc(refs, func(r store.TriggerRef) bool { return r.InstanceID == apA.ID }) ||
		!slices.ContainsFunc(refs, func(r store.TriggerRef) bool { return r.InstanceID == apB.ID }) {
		t.Errorf("app lookup: %+v, %v", refs, err)
	}

	// Claims: due polling instances once, until the lease runs out.
	claimed, err := sys.ClaimDueTriggers(ctx, now, now.Add(time.Minute), "tok1", 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	if again, err := sys.ClaimDueTriggers(ctx, now.Add(30*time.Second), now.Add(2*time.Minute), "tok2", 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed again under a live lease: %+v, %v", again, err)
	}
	// A write under another token is refused; under the lease's it
	// clears the lease.
	err = in(a, func(_ store.Tx, tt store.TriggerTx) error {
		cur, err := tt.GetTrigger(ctx, pa.ID)
		if err != nil {
			return err
		}
		if cur.LeaseToken != "tok1" || cur.LeaseUntil == nil {
			t.Errorf("lease not recorded: %+v", cur)
		}
		next := now.Add(time.Hour)
		cur.NextPollAt = &next
		if err := tt.UpdateTrigger(ctx, cur, "tok2"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("write under a stale token: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = in(a, func(_ store.Tx, tt store.TriggerTx) error {
		cur, err := tt.GetTrigger(ctx, pa.ID)
		if err != nil {
			return err
		}
		next := now.Add(time.Hour)
		cur.NextPollAt = &next
		return tt.UpdateTrigger(ctx, cur, "tok1")
	})
	if err != nil {
		t.Fatal(err)
	}
	// b's lease ran out: it is claimed again; a is not due.
	later := now.Add(2 * time.Minute)
	if again, err := sys.ClaimDueTriggers(ctx, later, later.Add(time.Minute), "tok3", 10); err != nil || len(again) != 1 || again[0].InstanceID != pb.ID {
		t.Fatalf("claim after the lease: %+v, %v", again, err)
	}

	// Refused values, and the events of one source.
	err = in(a, func(_ store.Tx, tt store.TriggerTx) error {
		bad := &store.TriggerInstance{Provider: "fake", Trigger: strings.Repeat("x", store.MaxTriggerName+1), Kind: "polling", Status: store.TriggerActive}
		if err := tt.CreateTrigger(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a trigger name too long: %v", err)
		}
		bad = &store.TriggerInstance{Provider: "fake\x00", Trigger: "t", Kind: "polling", Status: store.TriggerActive}
		if err := tt.CreateTrigger(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a NUL in the provider: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = in(a, func(tx store.Tx, tt store.TriggerTx) error {
		for i, src := range []string{pa.ID, wa.ID, pa.ID} {
			if _, err := tx.AppendEvent(ctx, &store.Event{Source: src, Type: "fake.new_item", Payload: []byte(`{"i":` + string(rune('0'+i)) + `}`)}, false); err != nil {
				return err
			}
		}
		evs, err := tt.ListSourceEvents(ctx, pa.ID, 0, 10)
		if err != nil {
			return err
		}
		if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 || evs[0].Source != pa.ID {
			t.Errorf("events of %s: %+v", pa.ID, evs)
		}
		if rest, err := tt.ListSourceEvents(ctx, pa.ID, evs[0].Pos, 10); err != nil || len(rest) != 1 {
			t.Errorf("after the first: %d, %v", len(rest), err)
		}
		// The newest first: of one source, of all, above a position.
		latest, err := tt.ListLatestEvents(ctx, pa.ID, 0, 1)
		if err != nil {
			return err
		}
		if len(latest) != 1 || latest[0].ID != evs[1].ID {
			t.Errorf("latest event of %s: %+v, want %s", pa.ID, latest, evs[1].ID)
		}
		all, err := tt.ListLatestEvents(ctx, "", 0, 10)
		if err != nil {
			return err
		}
		if len(all) != 3 || all[0].Pos <= all[1].Pos || all[1].Pos <= all[2].Pos || all[1].Source != wa.ID {
			t.Errorf("latest events: %+v", all)
		}
		if above, err := tt.ListLatestEvents(ctx, pa.ID, evs[1].Pos, 10); err != nil || len(above) != 0 {
			t.Errorf("latest above the newest: %d, %v", len(above), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = in(b, func(_ store.Tx, tt store.TriggerTx) error {
		evs, err := tt.ListSourceEvents(ctx, pa.ID, 0, 10)
		if err == nil && len(evs) != 0 {
			t.Errorf("tenant b lists %d events of a's instance", len(evs))
		}
		if err != nil {
			return err
		}
		for _, src := range []string{pa.ID, ""} {
			evs, err = tt.ListLatestEvents(ctx, src, 0, 10)
			if err == nil && len(evs) != 0 {
				t.Errorf("tenant b lists %d latest events of a (source %q)", len(evs), src)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ProviderBudget checks the shared poll budget: a burst of turns, then
// one per interval of the clock given, per provider; bad input refused.
func ProviderBudget(t *testing.T, s store.Store) {
	ctx := context.Background()
	sys := s.(store.TriggerStore)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	every := 500 * time.Millisecond
	take := func(p string, at time.Time) time.Duration {
		t.Helper()
		w, err := sys.TakeProviderPoll(ctx, p, at, every, 2)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for i := range 2 {
		if w := take("a", t0); w != 0 {
			t.Fatalf("turn %d of a burst of 2 refused (wait %v)", i+1, w)
		}
	}
	if w := take("a", t0); w != every {
		t.Fatalf("third turn at once: wait %v, want %v", w, every)
	}
	if w := take("a", t0.Add(every/2)); w != every/2 {
		t.Fatalf("third turn half an interval later: wait %v, want %v", w, every/2)
	}
	if w := take("b", t0); w != 0 {
		t.Fatalf("another provider's turn refused (wait %v)", w)
	}
	if w := take("a", t0.Add(every)); w != 0 {
		t.Fatalf("turn an interval later refused (wait %v)", w)
	}
	if w := take("a", t0.Add(every)); w != every {
		t.Fatalf("a second turn in that interval: wait %v, want %v", w, every)
	}
	// A quiet provider gets its burst back, not the turns it missed.
	later := t0.Add(time.Hour)
	for i := range 3 {
		w := take("a", later)
		if (i < 2) != (w == 0) {
			t.Fatalf("turn %d after an hour: wait %v", i+1, w)
		}
	}
	for _, bad := range []struct {
		p     string
		every time.Duration
	}{{"", every}, {strings.Repeat("p", store.MaxProvider+1), every}, {"a", 0}} {
		if _, err := sys.TakeProviderPoll(ctx, bad.p, t0, bad.every, 2); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("TakeProviderPoll(%d bytes, %v): err %v, want ErrInvalid", len(bad.p), bad.every, err)
		}
	}
}
