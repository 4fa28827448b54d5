package native

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// newPluginLogger returns the hclog logger go-plugin uses for one plugin
// process. It writes JSON lines that slogWriter turns into slog records
// carrying the plugin id: go-plugin's own lines and the plugin's stderr
// lines both arrive there. Once stopping is set (the host stops the
// process itself: idle, replaced, shut down), go-plugin's report that the
// process exited is logged at debug level: it is no crash.
func newPluginLogger(base *slog.Logger, id string, stopping *atomic.Bool) hclog.Logger {
	level := hclog.Info
	if base.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      level,
		JSONFormat: true,
		Output:     &slogWriter{log: base.With("plugin", id), stopping: stopping},
	})
}

// slogWriter parses hclog JSON lines into slog records.
type slogWriter struct {
	log      *slog.Logger
	stopping *atomic.Bool // may be nil
	mu       sync.Mutex
	buf      []byte
}

// exitMessages are go-plugin's lines about the process ending.
var exitMessages = map[string]bool{"plugin process exited": true, "plugin exited": true}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *slogWriter) line(b []byte) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			w.log.Info(s)
		}
		return
	}
	msg, _ := m["@message"].(string)
	lvl, _ := m["@level"].(string)
	attrs := make([]any, 0, 2*len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "@") && k != "@module" {
			continue
		}
		attrs = append(attrs, k, v)
	}
	level := slogLevel(lvl)
	if exitMessages[msg] && w.stopping != nil && w.stopping.Load() {
		level = slog.LevelDebug
		attrs = append(attrs, "reason", "stopped by the host")
	}
	w.log.Log(context.Background(), level, msg, attrs...)
}

func slogLevel(l string) slog.Level {
	switch strings.ToLower(l) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
