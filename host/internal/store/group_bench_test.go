package store_test

import (
	"context"
	"testing"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// BenchmarkRecordWrite writes execution records from 32 concurrent
// callers, each in a transaction of its own (InTenant) or through the
// group commit (WriteInTenant), on both backends:
//
//	go test -run '^$' -bench BenchmarkRecordWrite -benchtime 20000x ./host/internal/store
func BenchmarkRecordWrite(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		var s store.Store
		if backend == "sqlite" {
			s = storetest.SQLite(b)
		} else {
			s = storetest.Postgres(b).Store
		}
		tenant := storetest.NewTenant(b, s)
		ctx := context.Background()
		output := []byte(`{"object":"balance","available":[{"amount":1000,"currency":"usd"}],"livemode":false}`)
		write := func(run func(context.Context, string, func(store.Tx) error) error) func(*testing.B) {
			return func(b *testing.B) {
				b.SetParallelism(16) // 32 callers on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						rec := &store.Execution{Provider: "stripe", Action: "get_balance", Implementation: "native", Status: store.ExecSucceeded, Output: output}
						if err := run(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, rec) }); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
		}
		b.Run(backend+"/transaction-each", write(s.InTenant))
		b.Run(backend+"/group-commit", write(s.(store.BatchWriter).WriteInTenant))
		// One caller, back to back: the latency of a lone record.
		b.Run(backend+"/one-caller", func(b *testing.B) {
			for b.Loop() {
				rec := &store.Execution{Provider: "stripe", Action: "get_balance", Implementation: "native", Status: store.ExecSucceeded, Output: output}
				if err := s.(store.BatchWriter).WriteInTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, rec) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
