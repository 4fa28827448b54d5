package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

type impl struct {
	kind, id string
	actions  []string
}

func (i impl) Kind() string { return i.kind }
func (i impl) Manifest() provider.Manifest {
	m := provider.Manifest{ID: i.id}
	for _, a := range i.actions {
		m.Actions = append(m.Actions, provider.Action{Name: a})
	}
	return m
}
func (i impl) Execute(context.Context, provider.Request, runtimes.Host) (provider.Response, error) {
	return provider.Response{}, nil
}

type generic map[string]bool

func (g generic) For(id string) (runtimes.Implementation, bool) {
	if !g[id] {
		return nil, false
	}
	return impl{kind: runtimes.KindGeneric, id: id, actions: []string{"custom_api_call"}}, true
}

func TestPreference(t *testing.T) {
	r := New(generic{"stripe": true, "discord": true, "slack": true})
	// The catalog lists both a native and a piece implementation for stripe.
	r.AllowBoth(func(id string) bool { return id == "stripe" })
	kindOf := func(id string) string {
		i, ok := r.Resolve(id)
		if !ok {
			return ""
		}
		return i.Kind()
	}
	if k := kindOf("stripe"); k != runtimes.KindGeneric {
		t.Fatalf("stripe = %q before plugins", k)
	}
	if err := r.SetPiece("stripe", impl{kind: runtimes.KindPiece, id: "stripe"}); err != nil {
		t.Fatal(err)
	}
	if k := kindOf("stripe"); k != runtimes.KindPiece {
		t.Fatalf("stripe = %q with a piece", k)
	}
	if err := r.SetNative("stripe", impl{kind: runtimes.KindNative, id: "stripe", actions: []string{"get_balance"}}); err != nil {
		t.Fatal(err)
	}
	if k := kindOf("stripe"); k != runtimes.KindNative {
		t.Fatalf("stripe = %q with native and piece", k)
	}
	acts, kind, ok := r.Actions("stripe")
	if !ok || kind != runtimes.KindNative || len(acts) != 1 || acts[0].Name != "get_balance" {
		t.Fatalf("Actions = %v %q %v", acts, kind, ok)
	}
	r.RemoveNative("stripe")
	if k := kindOf("stripe"); k != runtimes.KindPiece {
		t.Fatalf("stripe = %q after native removal", k)
	}
	r.RemovePiece("stripe")
	if k := kindOf("stripe"); k != runtimes.KindGeneric {
		t.Fatalf("stripe = %q after piece removal", k)
	}
	if _, ok := r.Resolve("unknown"); ok {
		t.Fatal("unknown id resolved")
	}
	if _, ok := r.Get("discord", runtimes.KindPiece); ok {
		t.Fatal("Get piece of discord without a piece")
	}
	if acts, _, _ := r.Actions("slack"); len(acts) != 1 || acts[0].Name != "custom_api_call" {
		t.Fatalf("generic actions = %v", acts)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := New(nil)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("p%d-%d", w, i)
				r.SetNative(id, impl{kind: runtimes.KindNative, id: id})
				if _, ok := r.Resolve(id); !ok {
					t.Errorf("%s not visible after SetNative", id)
				}
			}
		}(w)
	}
	wg.Wait()
	if n := len(r.Natives()); n != 800 {
		t.Fatalf("natives = %d, want 800 (a concurrent update was lost)", n)
	}
}

// TestIDCollisions: without the catalog's say-so, the first of a native
// plugin and a piece to claim an id keeps it; the other is refused, in
// either order, and may claim it once the holder is gone.
func TestIDCollisions(t *testing.T) {
	r := New(nil)
	r.AllowBoth(func(id string) bool { return id == "discord" })
	native := func(id string) runtimes.Implementation { return impl{kind: runtimes.KindNative, id: id} }
	piece := func(id string) runtimes.Implementation { return impl{kind: runtimes.KindPiece, id: id} }
	cases := []struct {
		name          string
		first, second func() error
		firstKind     string
		id            string
		refused       bool
	}{
		{"piece after native", func() error { return r.SetNative("stripe", native("stripe")) }, func() error { return r.SetPiece("stripe", piece("stripe")) }, runtimes.KindNative, "stripe", true},
		{"native after piece", func() error { return r.SetPiece("sandbox", piece("sandbox")) }, func() error { return r.SetNative("sandbox", native("sandbox")) }, runtimes.KindPiece, "sandbox", true},
		{"catalog pair", func() error { return r.SetNative("discord", native("discord")) }, func() error { return r.SetPiece("discord", piece("discord")) }, runtimes.KindNative, "discord", false},
		{"same kind replaces", func() error { return r.SetPiece("slack", piece("slack")) }, func() error { return r.SetPiece("slack", piece("slack")) }, runtimes.KindPiece, "slack", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.first(); err != nil {
				t.Fatal(err)
			}
			other := runtimes.KindPiece
			if c.firstKind == runtimes.KindPiece {
				other = runtimes.KindNative
			}
			err := c.second()
			if c.refused != (err != nil) || (err != nil && !errors.Is(err, ErrIDTaken)) {
				t.Fatalf("second claim: %v, refused want %v", err, c.refused)
			}
			if c.refused {
				if _, ok := r.Get(c.id, other); ok {
					t.Fatalf("refused %s registered", other)
				}
				if err := r.Claimable(c.id, other); !errors.Is(err, ErrIDTaken) {
					t.Fatalf("Claimable = %v", err)
				}
				if impl, _ := r.Resolve(c.id); impl.Kind() != c.firstKind {
					t.Fatalf("%s resolves to %s", c.id, impl.Kind())
				}
				// Once the holder is gone, the other kind may claim it.
				if c.firstKind == runtimes.KindNative {
					r.RemoveNative(c.id)
				} else {
					r.RemovePiece(c.id)
				}
				if err := c.second(); err != nil {
					t.Fatalf("claim after the holder left: %v", err)
				}
			}
		})
	}
}

func TestRunActionAndOffer(t *testing.T) {
	r := New(generic{"stripe": true, "discord": true, "fake": true})
	r.AllowBoth(func(id string) bool { return id == "stripe" })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.SetNative("stripe", impl{kind: runtimes.KindNative, id: "stripe", actions: []string{"get_balance", "list_customers"}}))
	must(r.SetPiece("stripe", impl{kind: runtimes.KindPiece, id: "stripe", actions: []string{"list_customers", "create_refund"}}))
	must(r.SetPiece("discord", impl{kind: runtimes.KindPiece, id: "discord", actions: []string{"send_message", "custom_api_call"}}))
	// A plugin serving an id the catalog has no connectable entry for.
	must(r.SetNative("local", impl{kind: runtimes.KindNative, id: "local", actions: []string{"ping"}}))

	cases := []struct {
		id, action  string
		preferPiece bool
		kind        string // "" when the action does not run
		known       bool
	}{
		{"stripe", "get_balance", false, runtimes.KindNative, true},
		{"stripe", "list_customers", false, runtimes.KindNative, true},
		{"stripe", "list_customers", true, runtimes.KindPiece, true},
		{"stripe", "get_balance", true, runtimes.KindNative, true},
		{"stripe", "create_refund", false, runtimes.KindPiece, true},
		{"stripe", "custom_api_call", false, runtimes.KindGeneric, true},
		{"stripe", "custom_api_call", true, runtimes.KindGeneric, true},
		{"stripe", "refund_everything", false, "", true},
		{"discord", "custom_api_call", true, runtimes.KindPiece, true}, // the piece's own declaration wins
		{"fake", "custom_api_call", false, runtimes.KindGeneric, true},
		{"fake", "send_message", false, "", true},
		{"local", "ping", false, runtimes.KindNative, true},
		{"local", "custom_api_call", false, "", true},
		{"nobody", "custom_api_call", false, "", false},
	}
	for _, c := range cases {
		got, a, known, ok := r.RunAction(c.id, c.action, c.preferPiece)
		kind := ""
		if ok {
			kind = got.Kind()
			if a.Name != c.action {
				t.Errorf("%s/%s: declaration %q", c.id, c.action, a.Name)
			}
		}
		if kind != c.kind || known != c.known {
			t.Errorf("RunAction(%s, %s, piece=%v) = %q known=%v, want %q known=%v", c.id, c.action, c.preferPiece, kind, known, c.kind, c.known)
		}
	}

	// Offer lists exactly what RunAction runs, each name once.
	for _, id := range []string{"stripe", "discord", "fake", "local", "nobody"} {
		for _, preferPiece := range []bool{false, true} {
			offered, known := r.Offer(id, preferPiece)
			if known != (id != "nobody") {
				t.Fatalf("Offer(%s) known=%v", id, known)
			}
			seen := map[string]bool{}
			for _, o := range offered {
				if seen[o.Name] {
					t.Fatalf("Offer(%s) lists %s twice", id, o.Name)
				}
				seen[o.Name] = true
				impl, _, _, ok := r.RunAction(id, o.Name, preferPiece)
				if !ok || impl.Kind() != o.Impl.Kind() {
					t.Fatalf("Offer(%s) lists %s by %s; RunAction runs it by %v", id, o.Name, o.Impl.Kind(), impl)
				}
			}
			want := map[string]int{"stripe": 4, "discord": 2, "fake": 1, "local": 1, "nobody": 0}[id]
			if len(offered) != want {
				t.Fatalf("Offer(%s) = %d actions, want %d", id, len(offered), want)
			}
		}
	}
}

// TestServingAndRerun: the pieces route prefers the piece; a recorded
// execution runs again on its recorded kind while that is served, and on
// what serves the id now once it is gone.
func TestServingAndRerun(t *testing.T) {
	r := New(generic{"stripe": true})
	r.AllowBoth(func(id string) bool { return id == "stripe" })
	kind := func(i runtimes.Implementation, ok bool) string {
		if !ok {
			return ""
		}
		return i.Kind()
	}
	if err := r.SetPiece("stripe", impl{kind: runtimes.KindPiece, id: "stripe"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetNative("stripe", impl{kind: runtimes.KindNative, id: "stripe"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, got, want string
	}{
		{"integrations route", kind(r.Serving("stripe", false)), runtimes.KindNative},
		{"pieces route", kind(r.Serving("stripe", true)), runtimes.KindPiece},
		{"rerun of a piece execution", kind(r.Rerun("stripe", runtimes.KindPiece)), runtimes.KindPiece},
		{"unknown id", kind(r.Serving("nope", true)), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	r.RemovePiece("stripe")
	if k := kind(r.Rerun("stripe", runtimes.KindPiece)); k != runtimes.KindNative {
		t.Errorf("rerun of a piece execution after the piece left: %q, want native", k)
	}
	r.RemoveNative("stripe")
	if k := kind(r.Serving("stripe", true)); k != runtimes.KindGeneric {
		t.Errorf("pieces route with neither plugin: %q, want generic", k)
	}
	if _, ok := r.Rerun("nope", runtimes.KindNative); ok {
		t.Error("rerun of an id nothing serves")
	}
}
