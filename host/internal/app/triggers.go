package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/runtimes/generic"
	"github.com/atomhq/atom/host/internal/triggers"
)

// newTriggers builds the trigger engine over the execution engine's
// registry, connect's credentials and the delivery service, and has
// connect tell it of connections removed and changed. Its knobs come from
// the environment: ATOM_TRIGGER_MIN_INTERVAL (floor of polling
// intervals, 1m), ATOM_TRIGGER_DEFAULT_INTERVAL (5m),
// ATOM_TRIGGER_SCHEDULE_TICK (how often due polls are claimed, 1s),
// ATOM_TRIGGER_PROVIDER_RATE (polls per second per provider across the
// replicas, 20), ATOM_TRIGGER_PROVIDER_RATES (the same by provider,
// "hubspot:5,gmail:2.5") and ATOM_TRIGGER_TIMEOUT (one trigger call, the
// execution timeout).
func newTriggers(h *Host, p *Parts, env, engineEnv func(string) string) (*triggers.Engine, error) {
	if env == nil {
		env = os.Getenv
	}
	if engineEnv == nil {
		engineEnv = env
	}
	cfg := triggers.Config{Store: h.Store, Keyring: h.Keyring, Resolver: p.Registry, Credentials: h.Connect,
		Delivery: h.Webhooks.Delivery(), BaseURL: generic.BaseURLs(h.Catalog.Current, engineEnv), PublicURL: h.Config.BaseURL,
		Env: env, Logger: h.Log, Metrics: h.Registry}
	for name, d := range map[string]*time.Duration{"ATOM_TRIGGER_MIN_INTERVAL": &cfg.MinInterval, "ATOM_TRIGGER_DEFAULT_INTERVAL": &cfg.DefaultInterval,
		"ATOM_TRIGGER_SCHEDULE_TICK": &cfg.ScheduleTick, "ATOM_TRIGGER_TIMEOUT": &cfg.Timeout} {
		v := strings.TrimSpace(env(name))
		if v == "" {
			continue
		}
		x, err := time.ParseDuration(v)
		if err != nil || x <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 30s or 2m", name, v)
		}
		*d = x
	}
	if v := strings.TrimSpace(env("ATOM_TRIGGER_PROVIDER_RATE")); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 {
			return nil, fmt.Errorf("ATOM_TRIGGER_PROVIDER_RATE=%q: want a positive number of polls per second", v)
		}
		cfg.ProviderRate = x
	}
	if v := strings.TrimSpace(env("ATOM_TRIGGER_PROVIDER_RATES")); v != "" {
		cfg.ProviderRates = map[string]float64{}
		for _, f := range strings.Split(v, ",") {
			id, r, ok := strings.Cut(strings.TrimSpace(f), ":")
			x, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if id = strings.TrimSpace(id); !ok || id == "" || err != nil || x <= 0 {
				return nil, fmt.Errorf("ATOM_TRIGGER_PROVIDER_RATES=%q: want provider:polls-per-second pairs separated by commas, such as hubspot:5,gmail:2.5", v)
			}
			cfg.ProviderRates[id] = x
		}
	}
	eng, err := triggers.New(cfg)
	if err != nil {
		return nil, err
	}
	h.Connect.SetHooks(connect.Hooks{Removing: eng.ConnectionRemoved, Changed: eng.ConnectionChanged})
	return eng, nil
}
