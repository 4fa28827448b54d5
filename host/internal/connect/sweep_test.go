package connect_test

import (
	"context"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

func TestSweepStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		ctx := context.Background()
		res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.SweepStates(ctx); err != nil || n != 0 {
			t.Fatalf("swept %d live states: %v", n, err)
		}
		e.clock.Advance(11 * time.Minute)
		if n, err := e.svc.SweepStates(ctx); err != nil || n != 1 {
			t.Fatalf("swept %d expired states, want 1: %v", n, err)
		}
		if _, err := st.LookupStateTenant(ctx, connect.HashState(res.State), time.Now().Add(-time.Hour)); err == nil {
			t.Fatal("swept state still present")
		}
	})
}
