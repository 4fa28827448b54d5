package generate_test

import (
	"testing"

	"github.com/atomhq/atom/host/internal/generate"
)

// BenchmarkIntegration measures one forced regeneration of a provider
// whose catalog entry exists: rendering, formatting and writing the four
// files, syncing implementations.json and checking .env.example.
func BenchmarkIntegration(b *testing.B) {
	root := miniRepo(b)
	opts := generate.Options{Provider: "acme-widgets", Auth: "oauth2", Dir: root, Force: true}
	if _, err := generate.Integration(opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := generate.Integration(opts); err != nil {
			b.Fatal(err)
		}
	}
}
