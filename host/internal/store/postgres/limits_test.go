package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestColumnLimits checks that every limit the API and the store apply
// is the bound of the PostgreSQL column that holds the value, so a value
// the API accepts always fits.
func TestColumnLimits(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for col, limit := range store.Columns {
		table, name, _ := strings.Cut(col, ".")
		var n *int
		if err := conn.QueryRow(ctx, `SELECT character_maximum_length FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`, table, name).Scan(&n); err != nil {
			t.Fatalf("%s: %v", col, err)
		}
		if n == nil || *n != limit {
			t.Errorf("%s: column bound %v, store limit %d", col, n, limit)
		}
	}
}
