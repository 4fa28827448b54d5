package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := webhook.Sign("whsec_a", now, body)
	cases := []struct {
		name, secret, header string
		body                 []byte
		at                   time.Time
		want                 error
	}{
		{"valid", "whsec_a", h, body, now, nil},
		{"tampered body", "whsec_a", h, []byte(`{"id":"evt_2"}`), now, webhook.ErrBadSignature},
		{"wrong secret", "whsec_b", h, body, now, webhook.ErrBadSignature},
		{"too old", "whsec_a", h, body, now.Add(10 * time.Minute), webhook.ErrTooOld},
		{"malformed", "whsec_a", "v1=abc", body, now, webhook.ErrBadHeader},
		{"rotation: any v1 matches", "whsec_a", h + ",v1=00", body, now, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.VerifyAt(tc.secret, tc.header, tc.body, 5*time.Minute, tc.at); err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDeliver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		kr, _ := vault.New(vault.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
		tenant := storetest.NewTenant(t, st)
		got := make(chan *http.Request, 4)
		bodies := make(chan []byte, 4)
		var status atomic.Int32
		status.Store(http.StatusOK)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- r
			bodies <- b
			w.WriteHeader(int(status.Load()))
		}))
		defer srv.Close()
		s := webhook.NewSender(webhook.Config{Store: st, Keyring: kr})
		if _, err := s.SetTenantWebhook(ctx, tenant, "ftp://x"); err == nil {
			t.Fatal("non-http URL accepted")
		}
		secret, err := s.SetTenantWebhook(ctx, tenant, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		// The secret is stored only encrypted.
		st.InTenant(ctx, tenant, func(tx store.Tx) error {
			tn, _ := tx.GetTenant(ctx)
			if strings.Contains(string(tn.WebhookSecretCT), secret) {
				t.Error("webhook secret stored in clear")
			}
			return nil
		})
		data := webhook.ConnectionData{Provider: "slack", ConnectionID: "conn_1", Status: "active"}
		if err := s.Emit(ctx, tenant, webhook.EventConnectionCreated, data); err != nil {
			t.Fatal(err)
		}
		s.Wait()
		r, b := <-got, <-bodies
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderSignature), b, time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var ev webhook.Event
		if err := json.Unmarshal(b, &ev); err != nil || ev.Type != webhook.EventConnectionCreated || ev.TenantID != tenant {
			t.Fatalf("body %s: %v", b, err)
		}
		if r.Header.Get(webhook.HeaderEventID) != ev.ID || r.Header.Get("webhook-id") != ev.ID {
			t.Fatalf("event id headers %q %q, body id %q", r.Header.Get(webhook.HeaderEventID), r.Header.Get("webhook-id"), ev.ID)
		}
		status.Store(http.StatusInternalServerError)
		if err := s.Emit(ctx, tenant, webhook.EventConnectionDisconnected, data); err != nil {
			t.Fatal(err)
		}
		s.Wait()
		st.InTenant(ctx, tenant, func(tx store.Tx) error {
			l, err := tx.ListDeliveries(ctx, store.DeliveryFilter{State: store.DeliveryPending})
			if err != nil || len(l) != 1 || l[0].LastStatus != 500 || l[0].Attempts == 0 {
				t.Fatalf("a 500 from the receiver must leave the delivery pending for a retry: %+v %v", l, err)
			}
			return nil
		})
	})
}

// A failed delivery's error (stored with the delivery, shown by the API)
// names the receiver but not the token in its URL's query string.
func TestDeliverErrorRedactsURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		kr, _ := vault.New(vault.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
		tenant := storetest.NewTenant(t, st)
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := srv.Listener.Addr().String()
		srv.Close() // deliveries now fail to connect, and Go's error quotes the URL
		s := webhook.NewSender(webhook.Config{Store: st, Keyring: kr})
		for _, u := range []string{"http://" + addr + "/in?token=s3cret-token", "http://" + addr + "/in?a=1&sig=s3cret-token#frag"} {
			if _, err := s.SetTenantWebhook(ctx, tenant, u); err != nil {
				t.Fatal(err)
			}
			ev, err := s.Delivery().Emit(ctx, tenant, "test:"+u, "test.event", map[string]int{"n": 1})
			if err != nil {
				t.Fatal(err)
			}
			s.Wait()
			var d *store.Delivery
			st.InTenant(ctx, tenant, func(tx store.Tx) (err error) { d, err = tx.GetDeliveryByEvent(ctx, ev.ID); return })
			if d == nil || d.LastError == "" || strings.Contains(d.LastError, "s3cret") || !strings.Contains(d.LastError, addr+"/in?REDACTED") {
				t.Fatalf("delivery error %+v", d)
			}
		}
	})
}
