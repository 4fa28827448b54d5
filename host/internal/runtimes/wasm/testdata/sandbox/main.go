// Command sandbox is a test piece for the wasm runtime: a trivial action
// plus misbehaving ones (infinite loop, memory bomb, panic, long sleep)
// and actions that exercise every host function.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o sandbox.wasm ./host/internal/runtimes/wasm/testdata/sandbox
package main

import (
	"os"
	"time"

	"github.com/atomhq/atom/sdk/piece"
)

var sink [][]byte

// version is set with -ldflags "-X main.version=..." to build distinct modules.
var version = "1.0.0"

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "sandbox", Name: "Sandbox", Version: version, Categories: []string{"development"},
		Auth:  piece.AuthSpec{Kind: "api_key"},
		Hosts: []string{"allowed.test", "*.wild.test"},
		Actions: []piece.Action{
			{Name: "echo", Props: []piece.Prop{piece.ShortText("text", "Text")}, Run: func(c *piece.Context) (any, error) {
				return map[string]any{"text": c.String("text"), "version": version, "tenant": c.TenantID}, nil
			}},
			{Name: "loop", Run: func(c *piece.Context) (any, error) {
				n := 0
				for {
					n++
				}
			}},
			{Name: "bomb", Run: func(c *piece.Context) (any, error) {
				// 8 MiB at a time: any cap is reached in a few
				// allocations, well before the call's deadline.
				for {
					b := make([]byte, 8<<20)
					b[len(b)-1] = 1
					sink = append(sink, b)
				}
			}},
			{Name: "grow", Run: func(c *piece.Context) (any, error) {
				b := make([]byte, 24<<20)
				b[len(b)-1] = 1
				return len(b), nil
			}},
			{Name: "panic", Run: func(c *piece.Context) (any, error) {
				panic("boom from the guest")
			}},
			{Name: "sleep", Run: func(c *piece.Context) (any, error) {
				time.Sleep(time.Hour)
				return nil, nil
			}},
			{Name: "env", Run: func(c *piece.Context) (any, error) {
				_, err := os.ReadFile("/etc/passwd")
				return map[string]any{"env": os.Environ(), "args": os.Args, "fs_error": err != nil, "now": time.Now().Unix()}, nil
			}},
			{Name: "http", Props: []piece.Prop{piece.ShortText("url", "URL").Required()}, Run: func(c *piece.Context) (any, error) {
				resp, err := c.JSON("POST", c.String("url"), map[string]string{"X-Test": "1"}, map[string]string{"hello": "world"})
				if err != nil {
					return nil, err
				}
				return map[string]any{"status": resp.Status, "body": resp.Body}, nil
			}},
			{Name: "credentials", Run: func(c *piece.Context) (any, error) {
				cr, err := c.Credentials()
				if err != nil {
					return nil, err
				}
				return map[string]any{"api_key": cr.APIKey}, nil
			}},
			{Name: "store", Props: []piece.Prop{piece.ShortText("key", "Key"), piece.ShortText("value", "Value")}, Run: func(c *piece.Context) (any, error) {
				old, found, err := c.StoreGet(c.String("key"))
				if err != nil {
					return nil, err
				}
				if c.Has("value") {
					if err := c.StorePut(c.String("key"), []byte(c.String("value"))); err != nil {
						return nil, err
					}
				}
				c.Logf(piece.LogInfo, "store %s", c.String("key"))
				return map[string]any{"old": string(old), "found": found}, nil
			}},
		},
	}))
}

func main() {}
