package wasm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/atomhq/atom/host/internal/plugindir"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
)

var _ plugindir.Pieces = (*Loader)(nil)

// Upload checks data as the piece id (it loads and declares id; the
// runtime's Verify checks it against the lock file), writes it to the
// directory and loads it before returning: no poll, no lock held while a
// guest runs beyond the file's own load.
func (l *Loader) Upload(id string, data []byte) (plugindir.Plugin, error) {
	name := plugindir.PieceFile(id)
	p, err := l.rt.LoadBytes(name, data)
	if err != nil {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeRefused, Message: "the module is not a valid piece: " + err.Error()}
	}
	got := p.Spec().ID
	p.Close()
	if got != id {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeRefused, Message: fmt.Sprintf("the module declares piece id %q, not %q", got, id)}
	}
	if err := plugindir.WriteAtomic(l.dir, name, bytes.NewReader(data), 0o644); err != nil {
		return plugindir.Plugin{}, fmt.Errorf("write piece %s: %w", id, err)
	}
	l.reload(filepath.Join(l.dir, name))
	s := sha256.Sum256(data)
	sum := hex.EncodeToString(s[:])
	if h, ok := l.Handle(id); ok {
		if cur := h.Current(); cur != nil && cur.Checksum() == sum {
			return describe(id, cur), nil
		}
	}
	why := l.Refused()[name]
	if why == "" {
		why = "another version took its place"
	}
	return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodePending, Message: "the piece was written but does not serve: " + why}
}

// Plugins describes the loaded pieces and, under the id its name binds,
// each piece file that did not load and why.
func (l *Loader) Plugins() []plugindir.Plugin {
	var out []plugindir.Plugin
	loaded := map[string]bool{}
	for _, id := range l.IDs() {
		h, ok := l.Handle(id)
		if !ok {
			continue
		}
		loaded[id] = true
		if p := h.Current(); p != nil {
			out = append(out, describe(id, p))
		} else {
			out = append(out, plugindir.Plugin{ID: id, Kind: hostrt.KindPiece, State: "unloaded"})
		}
	}
	for name, why := range l.Refused() {
		if id := IDFromFile(name); !loaded[id] {
			out = append(out, plugindir.Plugin{ID: id, Kind: hostrt.KindPiece, State: "refused", LastError: why})
		}
	}
	return out
}

func describe(id string, p *Piece) plugindir.Plugin {
	m := p.Manifest()
	out := plugindir.Plugin{ID: id, Kind: hostrt.KindPiece, Name: m.Name, Version: m.Version, Checksum: p.Checksum(), State: "loaded"}
	for _, act := range m.Actions {
		out.Actions = append(out.Actions, act.Name)
	}
	return out
}
