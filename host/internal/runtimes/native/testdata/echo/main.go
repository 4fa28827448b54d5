// Command echo is the test fixture plugin of the native runtime. The tests
// build it with:
//
//	go build -ldflags "-X main.version=<v> -X main.id=<id>" -o <dir>/atom-provider-<id> ./host/internal/runtimes/native/testdata/echo
//
// -X main.startDelay=<duration> makes every process of it wait that long
// before it answers the handshake (a plugin slow to start).
package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

var (
	version    = "0.0.0"
	id         = "echo"
	startDelay = ""
)

var inflight, peak atomic.Int64

func main() {
	if d, err := time.ParseDuration(startDelay); err == nil {
		time.Sleep(d)
	}
	provider.Serve(provider.New(provider.Manifest{ID: id, Name: "Echo", Version: version}).
		Action(provider.ActionDef{
			Name: "echo",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				var in map[string]any
				if err := c.Decode(&in); err != nil {
					return nil, err
				}
				return map[string]any{"input": in, "version": version, "pid": hostPID()}, nil
			},
		}).
		Action(provider.ActionDef{
			// huge answers a result of n bytes: a plugin trying to make the
			// host buffer more than one bounded message.
			Name: "huge",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				var in struct {
					N int `json:"n"`
				}
				if err := c.Decode(&in); err != nil {
					return nil, err
				}
				return map[string]any{"pad": strings.Repeat("x", in.N)}, nil
			},
		}).
		Action(provider.ActionDef{
			Name: "sleep",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				MS int `json:"ms"`
			}) (any, error) {
				n := inflight.Add(1)
				defer inflight.Add(-1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				select {
				case <-time.After(time.Duration(in.MS) * time.Millisecond):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return map[string]any{"peak": peak.Load(), "inflight": n, "version": version}, nil
			}),
		}).
		Action(provider.ActionDef{
			Name: "crash",
			Handle: func(context.Context, *provider.Call) (any, error) {
				os.Exit(3)
				return nil, nil
			},
		}).
		Action(provider.ActionDef{
			Name: "whoami",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				req := c.Request()
				return map[string]any{
					"type":      c.Credentials().Type,
					"tenant":    req.TenantID,
					"execution": req.ExecutionID,
				}, nil
			},
		}).
		Action(provider.ActionDef{
			Name: "env",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				Name string `json:"name"`
			}) (any, error) {
				v, ok := os.LookupEnv(in.Name)
				return map[string]any{"set": ok, "value": v}, nil
			}),
		}).
		Action(provider.ActionDef{
			Name: "upstream",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				var out map[string]any
				if err := c.HTTP().GetJSON(ctx, "/resource", nil, &out); err != nil {
					return nil, err
				}
				c.Log(provider.LevelInfo, "upstream answered")
				return out, nil
			},
		}))
}

// hostPID is the process id as the host sees it: in a sandbox the
// plugin is PID 1 of its own namespace and the host passes the outer id.
func hostPID() int {
	if n, err := strconv.Atoi(os.Getenv("ATOM_PLUGIN_HOST_PID")); err == nil && n > 0 {
		return n
	}
	return os.Getpid()
}
