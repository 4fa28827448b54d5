package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/exec"
)

// execHooks install the execution engine in the browser test's host, so
// the page's "try an action" step runs.
var execHooks = []func(ctx context.Context, h *app.Host, deps *api.Deps) error{exec.Hook(exec.Options{Env: func(string) string { return "" }})}

// demoCopyHooks give the demo provider requests whose strings it may keep.
// Fiber's adaptor hands net/http handlers strings that alias fasthttp's
// reused buffers; the demo keeps the PKCE challenge from the authorize
// request, which the next request then overwrites, so the token exchange
// fails with "code_verifier does not match code_challenge". Until the
// mount in host/internal/api copies requests (or the demo clones what it
// stores), the browser tests install this copy.
var demoCopyHooks = []func(ctx context.Context, h *app.Host, deps *api.Deps) error{
	func(ctx context.Context, h *app.Host, deps *api.Deps) error {
		inner := deps.Demo
		if inner == nil {
			return nil
		}
		deps.Demo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			u, err := url.Parse(strings.Clone(r.URL.String()))
			if err != nil {
				http.Error(w, "bad url", http.StatusBadRequest)
				return
			}
			r2.URL = u
			r2.RequestURI = strings.Clone(r.RequestURI)
			r2.Host = strings.Clone(r.Host)
			r2.Method = strings.Clone(r.Method)
			r2.Header = http.Header{}
			for k, vs := range r.Header {
				for _, v := range vs {
					r2.Header.Add(strings.Clone(k), strings.Clone(v))
				}
			}
			inner.ServeHTTP(w, r2)
		})
		return nil
	},
}
