package hosttest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/store/sqlite"
)

// DumpTables returns every non-null value of every column of every table
// of h's database, rendered as text, for scans that no secret is stored
// in plaintext. On PostgreSQL it reads as the owner (h's migration URL),
// which sees all rows past row-level security, and returns each value
// also JSON-encoded; bytea and BLOB values come back as their raw bytes.
func DumpTables(t testing.TB, h *app.Host) []string {
	t.Helper()
	if s, ok := h.Store.(*sqlite.Store); ok {
		return dumpSQLite(t, s.DB())
	}
	return dumpPostgres(t, h.Config.MigrateDatabaseURL)
}

func dumpSQLite(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, s)
	}
	rows.Close()
	var out []string
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = appendValues(out, vals, false)
		}
		rows.Close()
	}
	return out
}

func dumpPostgres(t testing.TB, ownerURL string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog','information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables [][2]string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, [2]string{s, n})
	}
	rows.Close()
	var out []string
	for _, tn := range tables {
		rows, err := conn.Query(ctx, `SELECT * FROM `+pgx.Identifier{tn[0], tn[1]}.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			out = appendValues(out, vals, true)
		}
		rows.Close()
	}
	return out
}

// appendValues appends the text of each non-null value in vals to out:
// bytes as they are, anything else formatted and, withJSON, JSON-encoded
// too.
func appendValues(out []string, vals []any, withJSON bool) []string {
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			out = append(out, string(x))
		case nil:
		default:
			out = append(out, fmt.Sprint(x))
			if withJSON {
				b, _ := json.Marshal(x)
				out = append(out, string(b))
			}
		}
	}
	return out
}
