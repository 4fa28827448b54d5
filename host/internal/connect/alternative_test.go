package connect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestConnectThroughAlternative: a provider whose primary way is OAuth
// (Stripe) also takes an API key through its auth alternative, checked
// against the provider the alternative's way.
func TestConnectThroughAlternative(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, fakeprovider.Quirks{}, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
			d.AuthAlternatives = []catalog.Auth{{Kind: catalog.AuthAPIKey, CredentialFields: []string{"apiKey"},
				APIKeyIn: "header", APIKeyName: "Authorization", APIKeyPrefix: "Bearer ", CheckURL: fp.URL + "/api/key-check"}}
		})
		ctx := context.Background()
		if _, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "fake", connect.CredentialsInput{APIKey: "wrong"}); err == nil ||
			!strings.Contains(err.Error(), "Invalid API key") {
			t.Fatalf("wrong key through the alternative: %v", err)
		}
		c, err := e.svc.ConnectCredentials(ctx, e.tenant, "", "fake", connect.CredentialsInput{APIKey: e.fp.APIKey})
		if err != nil || c.AuthKind != catalog.AuthAPIKey {
			t.Fatalf("connect with the api key alternative: %+v %v", c, err)
		}
		cr, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake")
		if err != nil || cr.APIKey != e.fp.APIKey || cr.Type != catalog.AuthAPIKey {
			t.Fatalf("credentials: %+v %v", cr.Type, err)
		}
		_, err = e.svc.ConnectCredentials(ctx, e.tenant, "", "fake", connect.CredentialsInput{AuthKind: "basic", Username: "u"})
		if err == nil || !strings.Contains(err.Error(), "offers no basic connection") || !strings.Contains(err.Error(), "oauth2, api_key") {
			t.Fatalf("unknown kind: %v", err)
		}
	})
}
