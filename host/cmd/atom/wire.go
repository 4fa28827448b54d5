package main

import (
	"context"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/web"
)

type configT = config.Config

func configFor(name string, args []string, env *config.Env) (config.Config, interface{}, error) {
	cfg, fs, err := config.Load(name, args, env.Get)
	return cfg, fs, err
}

// hooks add the optional parts of the host: runtimes, executors, the
// demo provider and the web UI. onReady, when not nil, receives the
// execution engine's parts.
func hooks(env *config.Env, onReady func(*engine.Parts)) []func(ctx context.Context, h *app.Host, deps *api.Deps) error {
	return []func(ctx context.Context, h *app.Host, deps *api.Deps) error{engine.Hook(engine.Options{BackgroundPieces: true, BackgroundPlugins: true, Env: env.Get, OnReady: onReady}), web.Hook()}
}
