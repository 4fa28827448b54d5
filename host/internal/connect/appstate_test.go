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

// TestStatusSaysWhichOAuthApp: the status of an OAuth provider says
// which app a connect would use (the tenant's own first, then the
// operator's), and without any the connect's own message; the operator's
// client id and every secret stay out of it.
func TestStatusSaysWhichOAuthApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		ctx := context.Background()

		s, err := e.svc.Status(ctx, e.tenant, "", "fake")
		if err != nil || s.OAuthApp == nil || !s.OAuthApp.Configured || s.OAuthApp.Source != "host" || s.OAuthApp.ClientID != "" {
			t.Fatalf("operator's app: %+v %v", s.OAuthApp, err)
		}
		if !strings.HasSuffix(s.OAuthApp.RedirectURI, "/api/integrations/fake/callback") {
			t.Errorf("redirect uri %q", s.OAuthApp.RedirectURI)
		}

		delete(e.vars, "FAKE_CLIENT_SECRET")
		s, err = e.svc.Status(ctx, e.tenant, "", "fake")
		if err != nil || s.OAuthApp == nil || s.OAuthApp.Configured || s.OAuthApp.Source != "" {
			t.Fatalf("no app: %+v %v", s.OAuthApp, err)
		}
		for _, want := range []string{"FAKE_CLIENT_ID", "FAKE_CLIENT_SECRET", "PUT /api/v1/oauth-apps/fake"} {
			if !strings.Contains(s.OAuthApp.Message, want) {
				t.Errorf("message %q does not name %s", s.OAuthApp.Message, want)
			}
		}
		// The message is the one a connect answers with.
		_, cerr := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		if cerr == nil || !strings.Contains(cerr.Error(), s.OAuthApp.Message) {
			t.Errorf("connect says %v, status says %q", cerr, s.OAuthApp.Message)
		}

		if _, err := e.svc.PutOAuthApp(ctx, e.tenant, "fake", "tenant-client", "tenant-secret", nil); err != nil {
			t.Fatal(err)
		}
		e.vars["FAKE_CLIENT_SECRET"] = e.fp.ClientSecret
		s, err = e.svc.Status(ctx, e.tenant, "", "fake")
		if err != nil || s.OAuthApp == nil || !s.OAuthApp.Configured || s.OAuthApp.Source != "tenant" || s.OAuthApp.ClientID != "tenant-client" || s.OAuthApp.Message != "" {
			t.Fatalf("tenant's app: %+v %v", s.OAuthApp, err)
		}

		// Another tenant does not see it.
		other := storetest.NewTenant(t, st)
		s, err = e.svc.Status(ctx, other, "", "fake")
		if err != nil || s.OAuthApp == nil || s.OAuthApp.Source != "host" {
			t.Fatalf("other tenant: %+v %v", s.OAuthApp, err)
		}

		// A provider that does not start with OAuth has no app to report.
		e.cat["keyed"] = &catalog.Descriptor{ID: "keyed", Name: "Keyed", Connectable: true,
			Auth: catalog.Auth{Kind: catalog.AuthAPIKey, CredentialFields: []string{"apiKey"}}}
		s, err = e.svc.Status(ctx, e.tenant, "", "keyed")
		if err != nil || s.OAuthApp != nil {
			t.Fatalf("api key provider: %+v %v", s, err)
		}
	})
}
