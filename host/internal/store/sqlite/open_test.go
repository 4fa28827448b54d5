package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenPathWithURICharacters opens a database whose path holds the
// characters a file: URI gives a meaning to: the file is created at that
// path, not at a name cut short, and the connection settings still apply.
func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"a#1", "b?x=1", "c%23d", "d&_pragma=foreign_keys(0)"} {
		t.Run(dir, func(t *testing.T) {
			base := t.TempDir()
			path := filepath.Join(base, dir, "atom.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the database is not at %s: %v", path, err)
			}
			entries, _ := os.ReadDir(base)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("files beside the data directory: %v", names)
			}
			var fk, timeout int
			if err := s.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if err := s.db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
				t.Fatal(err)
			}
			if fk != 1 || timeout != 10000 {
				t.Fatalf("settings not applied: foreign_keys=%d busy_timeout=%d", fk, timeout)
			}
		})
	}
}
