package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/atomhq/atom/host/internal/store"
)

// checkUserCap refuses a new user when the tenant already has max
// (ATOM_TENANT_MAX_USERS).
func checkUserCap(ctx context.Context, tx store.Tx, max int) error {
	c, ok := store.Counting(tx)
	if !ok {
		return nil
	}
	n, err := c.CountUsers(ctx, max)
	if err != nil {
		return err
	}
	if n >= max {
		return apiErr(http.StatusConflict, "too_many_users",
			fmt.Sprintf("this tenant already has %d users, the limit (ATOM_TENANT_MAX_USERS); reuse existing users or ask the operator to raise the limit", max))
	}
	return nil
}
