package connect

import (
	"context"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
)

// ImportToken stores an OAuth2 connection directly, for benchmarks that
// start from an existing connection.
func ImportToken(ctx context.Context, s *Service, tenantID, provider, access, refresh string, exp time.Time) error {
	c := &store.Connection{TenantID: tenantID, Provider: provider, AuthKind: catalog.AuthOAuth2, Status: store.StatusActive, ExpiresAt: &exp}
	return s.saveConnection(ctx, c, &secrets{AccessToken: access, RefreshToken: refresh})
}
