package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestConcurrentMigrate starts four `atom migrate up` processes at once
// on a fresh PostgreSQL database, five times: every run succeeds (the
// grants and River's migrations run under the migration lock, so no
// "tuple concurrently updated"), and the host's role ends up able to use
// every table.
func TestConcurrentMigrate(t *testing.T) {
	const rounds, parallel = 5, 4
	keys, _ := vault.Generate("k1")
	for round := 0; round < rounds; round++ {
		pg := storetest.NewPostgres(t)
		dir := t.TempDir()
		var wg sync.WaitGroup
		outs := make([]string, parallel)
		errs := make([]error, parallel)
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cmd := exec.Command(atomBin, "migrate", "up")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "ATOM_DATABASE_URL="+pg.AppURL, "ATOM_MIGRATE_DATABASE_URL="+pg.OwnerURL,
					"ATOM_ENCRYPTION_KEYS="+keys, "ATOM_DEV=false", "ATOM_LOG_LEVEL=warn")
				out, err := cmd.CombinedOutput()
				outs[i], errs[i] = string(out), err
			}(i)
		}
		wg.Wait()
		for i := range errs {
			if errs[i] != nil || !strings.Contains(outs[i], "up to date") {
				t.Fatalf("round %d, run %d: %v\n%s", round, i, errs[i], outs[i])
			}
		}
		ctx := context.Background()
		app, err := pgx.Connect(ctx, pg.AppURL)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		rows, err := app.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
			AND NOT has_table_privilege(current_user, format('%I.%I', schemaname, tablename), 'SELECT, INSERT, UPDATE, DELETE')`)
		if err == nil {
			missing, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		app.Close(ctx)
		if err != nil || len(missing) > 0 {
			t.Fatalf("round %d: the host's role lacks privileges on %v (%v)", round, missing, err)
		}
	}
	t.Logf("%d rounds of %d concurrent migrate runs: all succeeded", rounds, parallel)
}

// TestConcurrentMigrateSQLite is TestConcurrentMigrate on one SQLite file
// (several processes of one host).
func TestConcurrentMigrateSQLite(t *testing.T) {
	const rounds, parallel = 5, 4
	keys, _ := vault.Generate("k1")
	for round := 0; round < rounds; round++ {
		dir := t.TempDir()
		db := "sqlite://" + filepath.Join(dir, "atom.db")
		var wg sync.WaitGroup
		outs := make([]string, parallel)
		errs := make([]error, parallel)
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cmd := exec.Command(atomBin, "migrate", "up")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "ATOM_DATABASE_URL="+db, "ATOM_ENCRYPTION_KEYS="+keys, "ATOM_DEV=false", "ATOM_LOG_LEVEL=warn")
				out, err := cmd.CombinedOutput()
				outs[i], errs[i] = string(out), err
			}(i)
		}
		wg.Wait()
		for i := range errs {
			if errs[i] != nil || !strings.Contains(outs[i], "up to date") {
				t.Fatalf("round %d, run %d: %v\n%s", round, i, errs[i], outs[i])
			}
		}
	}
}
