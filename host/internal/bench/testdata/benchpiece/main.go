// Command benchpiece is the benchmark fixture piece: provider "benchecho"
// with one action, echo, that returns the text it is given, like the native fixture
// in ../benchecho.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o <dir>/benchecho.wasm ./host/internal/bench/testdata/benchpiece
package main

import (
	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "benchecho", Name: "Bench echo", Version: "1.0.0", Categories: []string{"development"},
		Actions: []piece.Action{{
			Name:  "echo",
			Props: []piece.Prop{piece.ShortText("text", "Text")},
			Run: func(c *piece.Context) (any, error) {
				return map[string]any{"text": c.String("text")}, nil
			},
		}},
	}))
}

func main() {}
