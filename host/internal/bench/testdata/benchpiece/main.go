// Command benchpiece is the benchmark fixture piece: provider "benchpiece"
// with one action, echo, that returns the text it is given, like the native fixture
// in ../benchecho (a piece may not share the native fixture's id).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o <dir>/benchpiece.wasm ./host/internal/bench/testdata/benchpiece
package main

import (
	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "benchpiece", Name: "Bench piece", Version: "1.0.0", Categories: []string{"development"},
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
