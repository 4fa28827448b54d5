package native

import (
	"bytes"

	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
)

var _ plugindir.Natives = (*Manager)(nil)

// Upload installs data as plugin id (see Install) and describes it.
func (m *Manager) Upload(id string, data []byte) (plugindir.Plugin, error) {
	if err := m.Install(id, bytes.NewReader(data)); err != nil {
		return plugindir.Plugin{}, err
	}
	for _, p := range m.Plugins() {
		if p.ID == id {
			return p, nil
		}
	}
	return plugindir.Plugin{ID: id, Kind: runtimes.KindNative, State: StateIdle}, nil
}

// Plugins describes every plugin binary of the directory for the admin
// API, including refused and failed ones.
func (m *Manager) Plugins() []plugindir.Plugin {
	infos := m.List()
	out := make([]plugindir.Plugin, 0, len(infos))
	for _, p := range infos {
		out = append(out, plugindir.Plugin{ID: p.ID, Kind: runtimes.KindNative, Name: p.Name, Version: p.Version, Checksum: p.Checksum,
			State: p.State, Calls: p.Calls, Restarts: p.Restarts, LastError: p.LastError, Actions: p.Actions,
			AllowedHosts: p.AllowedHosts, RawCredentials: p.RawCredentials})
	}
	return out
}

// Serving is the number of plugins loaded and serving.
func (m *Manager) Serving() int {
	n := 0
	for _, p := range m.List() {
		if p.State != StateRefused && p.State != StateFailed && p.State != StateLoading {
			n++
		}
	}
	return n
}
