package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/store"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Before any secret is read: /proc/<pid>/mem, environ and fd of the
	// host become root-only and it cannot be ptrace-attached.
	if err := native.HardenHost(); err != nil {
		return fmt.Errorf("mark the host non-dumpable: %w", err)
	}
	app.SetGCDefault()
	// Secrets are read once (from NAME_FILE files where given), then
	// removed from the environment; see config.Env.Scrub for what remains
	// in /proc/<pid>/environ.
	env, err := config.ReadEnv(os.Environ(), os.ReadFile)
	if err != nil {
		return err
	}
	cfg, _, err := config.Load("atom serve", args, env.Get)
	if err != nil {
		return err
	}
	if err := env.Scrub(os.Unsetenv); err != nil {
		return err
	}
	created := false
	if cfg.Dev {
		cfg, created, err = app.DevSetup(cfg)
		if err != nil {
			return fmt.Errorf("development setup: %w", err)
		}
	}
	var parts *app.Parts
	h, err := app.New(ctx, cfg, hostOptions(env, func(p *app.Parts) { parts = p }))
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	if err := h.Start(ctx); err != nil {
		return err
	}
	if cfg.Dev {
		tenantKey, err := devTenant(ctx, h, cfg)
		if err != nil {
			return err
		}
		// The banner comes last, after the startup logs: once the native
		// plugins and pieces found at start have loaded in the background
		// and the listener answers, so the first thing to read is what to
		// open.
		go func() {
			wctx, cancel := context.WithTimeout(ctx, bannerWait)
			if parts != nil && parts.Native != nil {
				for _, id := range parts.Native.Loading() {
					_ = parts.Native.Wait(wctx, id)
				}
			}
			if parts != nil && parts.Loader != nil {
				_ = parts.Loader.WaitInitial(wctx)
			}
			cancel()
			waitListening(ctx, cfg.Addr, bannerWait)
			if ctx.Err() == nil {
				printDevBanner(stdout, cfg, created, tenantKey)
			}
		}()
	} else {
		h.Log.Info("listening", "addr", cfg.Addr, "base_url", cfg.BaseURL, "database", cfg.Backend(), "integrations", h.Catalog.Current().Len())
	}
	return h.Server.Listen(ctx, cfg.Addr, cfg.ShutdownTimeout)
}

// bannerWait bounds each wait before the development banner is printed.
const bannerWait = 2 * time.Minute

// waitListening waits until addr accepts TCP connections, ctx is done or
// limit has passed.
func waitListening(ctx context.Context, addr string, limit time.Duration) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	target := net.JoinHostPort(host, port)
	deadline := time.Now().Add(limit)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", target, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devTenant makes sure the development setup has a tenant and an API key
// to sign in with, recorded in dev.keys.
func devTenant(ctx context.Context, h *app.Host, cfg configT) (string, error) {
	if key := app.ReadDevValue(cfg, "ATOM_DEV_TENANT_KEY"); key != "" {
		return key, nil
	}
	const id = "demo"
	err := h.Store.InTenant(ctx, id, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx); err == nil {
			return nil
		}
		return tx.CreateTenant(ctx, &store.Tenant{ID: id, Name: "Demo tenant"})
	})
	if err != nil {
		return "", err
	}
	k, err := createAPIKey(ctx, h.Store, id, "development")
	if err != nil {
		return "", err
	}
	return k.Key, app.AppendDevValue(cfg, "ATOM_DEV_TENANT_KEY", k.Key)
}

func printDevBanner(w io.Writer, cfg configT, created bool, tenantKey string) {
	keys := cfg.DevKeysPath()
	if created {
		fmt.Fprintf(w, "\nCreated %s (mode 0600) with a new encryption key and admin key for this development setup.\n", keys)
	}
	fmt.Fprintf(w, `
Atom is running (development setup, SQLite at %s)

  Open:         %s/integrations
  Sign in with: %s   (tenant "demo" API key)
  Admin key:    %s
  Dev keys:     %s  (never use them in production)

  Try:  curl %s/healthz
        curl -H "Authorization: Bearer %s" %s/api/v1/me

Press Ctrl+C to stop.
`, cfg.SQLitePath(), cfg.BaseURL, tenantKey, cfg.AdminKey, keys, cfg.BaseURL, tenantKey, cfg.BaseURL)
	if f, ok := w.(*os.File); ok {
		f.Sync()
	}
}
