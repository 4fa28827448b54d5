package web

import (
	"context"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/engine"
)

// execHooks install the execution engine in the browser test's host, so
// the page's "try an action" step runs.
var execHooks = []func(ctx context.Context, h *app.Host, deps *api.Deps) error{engine.Hook(engine.Options{Env: func(string) string { return "" }})}
