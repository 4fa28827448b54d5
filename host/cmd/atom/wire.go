package main

import (
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/web"
)

type configT = config.Config

// hostOptions are the options of the host `atom serve` runs: the
// execution engine loading plugins and pieces in the background, and the
// web UI. onReady, when not nil, receives the execution engine's parts.
func hostOptions(env *config.Env, onReady func(*app.Parts)) app.Options {
	return app.Options{
		Env:    env.Get,
		Engine: &app.EngineOptions{BackgroundPieces: true, BackgroundPlugins: true, Env: env.Get, OnReady: onReady},
		Web:    web.ForHost,
	}
}
