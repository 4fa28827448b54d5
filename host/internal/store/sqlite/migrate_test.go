package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/store/sqlite"
)

// TestConcurrentMigrate migrates one database file from four stores at
// once (as two `atom migrate up` runs on one host would), five times.
func TestConcurrentMigrate(t *testing.T) {
	for round := 0; round < 5; round++ {
		path := filepath.Join(t.TempDir(), "atom.db")
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s, err := sqlite.Open(context.Background(), path)
				if err != nil {
					errs[i] = err
					return
				}
				defer s.Close()
				_, errs[i] = s.Migrate(context.Background())
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, store %d: %v", round, i, err)
			}
		}
	}
}
