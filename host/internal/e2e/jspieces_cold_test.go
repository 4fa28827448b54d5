package e2e

import (
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

// TestJSPieceColdStart drops the published Slack piece into a running
// host's plugin directory and reports how long until its first call
// succeeds over REST: on a host whose JS engine has not started and has
// no compilation cache, on a new host with the cache a first host left on
// disk, and on a host whose engine already runs another piece. It reports
// the figures (BENCHMARKS.md) and asserts only that each call succeeds.
func TestJSPieceColdStart(t *testing.T) {
	src := bundledPiece(t, "@activepieces/piece-slack")
	version := installedVersion(t, "@activepieces/piece-slack")
	data := t.TempDir() // shared: the second host finds the first's compilation cache
	measure := func(what string, preload bool) {
		fp := fakeprovider.New(t, fakeprovider.Quirks{})
		api := newRecorder(t, map[string]reply{"POST /api/chat.postMessage": {Body: `{"ok":true,"channel":"C1","ts":"1.2"}`}})
		h := startHost(t, hosttest.Options{Quiet: true, Rewrite: map[string]string{"slack.com": api.URL},
			Catalog: map[string]string{"slack.json": oauthDescriptor("slack", "Slack", "https://slack.com/api", fp)},
			Env:     map[string]string{"SLACK_CLIENT_ID": fp.ClientID, "SLACK_CLIENT_SECRET": fp.ClientSecret},
			Configure: func(c *config.Config) {
				if !preload {
					c.DataDir = data
				}
			}})
		connectOAuth(h, h.Tenant, "slack")
		if preload {
			writeRelay(t, h.Plugins, 1)
			hosttest.WaitFor(t, 60*time.Second, "another piece to load", func() bool { _, ok := h.Parts.Registry.Get("relay", "piece"); return ok })
		}
		input := map[string]any{"input": map[string]any{"channel": "C1", "text": "hi"}}
		start := time.Now()
		if _, err := jspiece.Write(h.Plugins, jspiece.Artifact{ID: "slack", Package: "@activepieces/piece-slack", Version: version,
			Hosts: []string{"slack.com"}, Source: src}, nil); err != nil {
			t.Fatal(err)
		}
		hosttest.WaitFor(t, 60*time.Second, "the first successful call", func() bool {
			r, err := h.Try("POST", "/api/v1/integrations/slack/actions/send_channel_message", h.Tenant.Key, input, nil)
			if err != nil || r.Status != 200 {
				time.Sleep(5 * time.Millisecond)
				return false
			}
			return true
		})
		t.Logf("slack %s (%d KB bundle): file added → first successful call %v, %s", version, len(src)>>10, time.Since(start).Round(time.Millisecond), what)
	}
	measure("engine not started, no compilation cache", false)
	measure("engine not started, compilation cache on disk", false)
	measure("engine running another piece", true)
}
