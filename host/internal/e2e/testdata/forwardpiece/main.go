// Command forwardpiece is a wasm test piece that forwards one request to
// its provider and reports a non-2xx answer as a piece would: an error
// with the upstream status and the field the provider names. The tests
// build it with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fwdpiece.wasm ./host/internal/e2e/testdata/forwardpiece
package main

import (
	"encoding/json"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "fwdpiece", Name: "Forward (piece)", Version: "1.0.0", Categories: []string{"development"},
		Auth: piece.AuthSpec{Kind: "api_key"},
		Actions: []piece.Action{
			{Name: "call", Props: []piece.Prop{piece.ShortText("path", "Path").Required()}, Run: func(c *piece.Context) (any, error) {
				cr, err := c.Credentials()
				if err != nil {
					return nil, err
				}
				resp, err := c.JSON("POST", piece.URL(c.BaseURL, c.String("path"), nil), map[string]string{"X-Api-Key": cr.APIKey},
					map[string]string{"from": "piece"})
				if err != nil {
					return nil, err
				}
				if !resp.OK() {
					e := resp.Fail("the provider refused the request")
					var body struct {
						Error struct {
							Message string `json:"message"`
							Param   string `json:"param"`
						} `json:"error"`
					}
					if json.Unmarshal(resp.Bytes(), &body) == nil && body.Error.Message != "" {
						e.Summary, e.Field = body.Error.Message, body.Error.Param
					}
					return nil, e
				}
				return resp.Output()
			}},
		},
	}))
}

func main() {}
