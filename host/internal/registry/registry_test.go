package registry

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/runtime"
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
func (i impl) Execute(context.Context, provider.Request, runtime.Host) (provider.Response, error) {
	return provider.Response{}, nil
}

type generic map[string]bool

func (g generic) For(id string) (runtime.Implementation, bool) {
	if !g[id] {
		return nil, false
	}
	return impl{kind: runtime.KindGeneric, id: id, actions: []string{"custom_api_call"}}, true
}

func TestPreference(t *testing.T) {
	r := New(generic{"stripe": true, "discord": true, "slack": true})
	kindOf := func(id string) string {
		i, ok := r.Resolve(id)
		if !ok {
			return ""
		}
		return i.Kind()
	}
	if k := kindOf("stripe"); k != runtime.KindGeneric {
		t.Fatalf("stripe = %q before plugins", k)
	}
	r.SetPiece("stripe", impl{kind: runtime.KindPiece, id: "stripe"})
	if k := kindOf("stripe"); k != runtime.KindPiece {
		t.Fatalf("stripe = %q with a piece", k)
	}
	r.SetNative("stripe", impl{kind: runtime.KindNative, id: "stripe", actions: []string{"get_balance"}})
	if k := kindOf("stripe"); k != runtime.KindNative {
		t.Fatalf("stripe = %q with native and piece", k)
	}
	acts, kind, ok := r.Actions("stripe")
	if !ok || kind != runtime.KindNative || len(acts) != 1 || acts[0].Name != "get_balance" {
		t.Fatalf("Actions = %v %q %v", acts, kind, ok)
	}
	r.RemoveNative("stripe")
	if k := kindOf("stripe"); k != runtime.KindPiece {
		t.Fatalf("stripe = %q after native removal", k)
	}
	r.RemovePiece("stripe")
	if k := kindOf("stripe"); k != runtime.KindGeneric {
		t.Fatalf("stripe = %q after piece removal", k)
	}
	if _, ok := r.Resolve("unknown"); ok {
		t.Fatal("unknown id resolved")
	}
	if _, ok := r.Get("discord", runtime.KindPiece); ok {
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
				r.SetNative(id, impl{kind: runtime.KindNative, id: id})
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
