package piece_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/sdk/piece"
)

// echoPiece mirrors the host's sandbox fixture: its echo action reads one
// string field and returns a small map.
var echoPiece = piece.Define(piece.Piece{
	ID: "sandbox", Name: "Sandbox", Hosts: []string{"api.example.com"},
	Actions: []piece.Action{
		{Name: "echo", Props: []piece.Prop{piece.ShortText("text", "Text")}, Run: func(c *piece.Context) (any, error) {
			return map[string]any{"text": c.String("text"), "version": "1.0.0", "tenant": c.TenantID}, nil
		}},
		{Name: "raw", Run: func(c *piece.Context) (any, error) { return c.Input, nil }},
	},
})

// echoRequest is the request JSON the host writes for the warm-call
// benchmark of host/internal/runtimes/wasm.
var echoRequest = []byte(`{"execution_id":"e","tenant_id":"t","action":"echo","input":{"text":"hi"}}`)

// BenchmarkExecute measures Piece.Execute alone, the guest side of one
// call. Run it inside wasm to see the guest's cost:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec <wasip1 runner> -run '^$' -bench Execute ./piece
func BenchmarkExecute(b *testing.B) {
	h := &fakeHost{store: map[string][]byte{}}
	b.Run("echo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			echoPiece.Execute(echoRequest, h)
		}
	})
	b.Run("raw", func(b *testing.B) {
		in := []byte(`{"execution_id":"e","tenant_id":"t","action":"raw","input":{"text":"hi","n":[1,2,3],"o":{"a":null}}}`)
		b.ReportAllocs()
		for b.Loop() {
			echoPiece.Execute(in, h)
		}
	})
	b.Run("unknown-action", func(b *testing.B) {
		in := []byte(`{"execution_id":"e","tenant_id":"t","action":"nope","input":{}}`)
		b.ReportAllocs()
		for b.Loop() {
			echoPiece.Execute(in, h)
		}
	})
}

// BenchmarkManifest measures marshalling the manifest.
func BenchmarkManifest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(echoPiece.Manifest()); err != nil {
			b.Fatal(err)
		}
	}
}
