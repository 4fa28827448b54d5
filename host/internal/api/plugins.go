package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
)

// DefaultMaxPluginBytes bounds an uploaded plugin.
const DefaultMaxPluginBytes = 256 << 20

var wasmMagic = []byte{0x00, 'a', 's', 'm'}

// Admin serves the admin plugin API over the native manager and the wasm
// loader. It implements PluginAdmin.
type Admin struct {
	stats  func(kind, id string) (calls int64, lastErr string)
	native *native.Manager
	wasmRT *wasm.Runtime
	loader *wasm.Loader
	dir    string
	verify bool
	// uploadOff refuses uploads (ATOM_PLUGIN_UPLOAD=off).
	uploadOff bool
	lockFile  string
	maxBytes  int64
	mu        sync.Mutex // serializes piece uploads and lock-file writes
	pending   sync.Map   // checksums of uploads being checked
}

var _ PluginAdmin = (*Admin)(nil)

// AdminRoutes registers GET /admin/plugins and PUT /admin/plugins/:id on
// the admin router (/api/v1); the upload takes bodies up to
// ATOM_PLUGIN_UPLOAD_LIMIT.
func (a *Admin) AdminRoutes(r *Router) {
	r.Get("/admin/plugins", a.list)
	r.Uploads().Put("/admin/plugins/:id", a.put)
}

// SetUploadOff switches admin uploads off (or on) while the host runs.
func (a *Admin) SetUploadOff(off bool) {
	a.mu.Lock()
	a.uploadOff = off
	a.mu.Unlock()
}

// NativeCount is the number of native providers loaded and serving.
func (a *Admin) NativeCount() int {
	if a.native == nil {
		return 0
	}
	n := 0
	for _, p := range a.native.List() {
		if p.State != native.StateRefused && p.State != native.StateFailed && p.State != native.StateLoading {
			n++
		}
	}
	return n
}

// PluginJSON describes one plugin in GET /admin/plugins.
type PluginJSON struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name,omitempty"`
	Version   string   `json:"version,omitempty"`
	Checksum  string   `json:"checksum,omitempty"`
	State     string   `json:"state"`
	Calls     int64    `json:"calls"`
	Restarts  int64    `json:"restarts,omitempty"`
	LastError string   `json:"last_error,omitempty"`
	Actions   []string `json:"actions,omitempty"`
	// AllowedHosts are the hosts a native plugin's requests may reach
	// through the host (besides its execution's base URL host).
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// RawCredentials is true for a native plugin handed the connections'
	// secrets rather than placeholders the host fills in.
	RawCredentials bool `json:"raw_credentials,omitempty"`
}

// Plugins lists native plugins and pieces.
func (a *Admin) Plugins() []PluginJSON {
	var out []PluginJSON
	if a.native != nil {
		for _, p := range a.native.List() {
			out = append(out, PluginJSON{ID: p.ID, Kind: runtimes.KindNative, Name: p.Name, Version: p.Version, Checksum: p.Checksum,
				State: p.State, Calls: p.Calls, Restarts: p.Restarts, LastError: p.LastError, Actions: p.Actions,
				AllowedHosts: p.AllowedHosts, RawCredentials: p.RawCredentials})
		}
	}
	if a.loader != nil {
		for _, id := range a.loader.IDs() {
			h, ok := a.loader.Handle(id)
			if !ok {
				continue
			}
			j := PluginJSON{ID: id, Kind: runtimes.KindPiece, State: "loaded"}
			if p := h.Current(); p != nil {
				m := p.Manifest()
				j.Name, j.Version, j.Checksum = m.Name, m.Version, p.Checksum()
				for _, act := range m.Actions {
					j.Actions = append(j.Actions, act.Name)
				}
			} else {
				j.State = "unloaded"
			}
			j.Calls, j.LastError = a.stats(runtimes.KindPiece, id)
			out = append(out, j)
		}
		// Piece files that did not load: why, under the id their name binds.
		loaded := map[string]bool{}
		for _, id := range a.loader.IDs() {
			loaded[id] = true
		}
		for name, why := range a.loader.Refused() {
			if id := wasm.IDFromFile(name); !loaded[id] {
				out = append(out, PluginJSON{ID: id, Kind: runtimes.KindPiece, State: "refused", LastError: why})
			}
		}
	}
	sort.Slice(out, func(i, k int) bool {
		if out[i].ID != out[k].ID {
			return out[i].ID < out[k].ID
		}
		return out[i].Kind < out[k].Kind
	})
	return out
}

func (a *Admin) list(c *fiber.Ctx) error {
	out := a.Plugins()
	if out == nil {
		out = []PluginJSON{}
	}
	return c.JSON(fiber.Map{"plugins": out})
}

// put installs a native binary or a wasm piece (told apart by the wasm
// magic bytes) as plugin id.
func (a *Admin) put(c *fiber.Ctx) error {
	a.mu.Lock()
	off := a.uploadOff
	a.mu.Unlock()
	if off {
		return Fail(http.StatusForbidden, "plugin_upload_disabled", "plugin uploads are switched off on this host (ATOM_PLUGIN_UPLOAD=off): deploy the file to ATOM_PLUGIN_DIR, with its line in plugins.lock when verification is on")
	}
	id := c.Params("id")
	if plugindir.CheckID(id) != nil {
		return Fail(http.StatusBadRequest, "invalid_plugin_id", plugindir.IDRule)
	}
	body := c.Body()
	if len(body) == 0 {
		return Fail(http.StatusBadRequest, "empty_body", "send the plugin binary or .wasm module as the request body")
	}
	if int64(len(body)) > a.maxBytes {
		return Fail(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("plugins are limited to %d bytes", a.maxBytes))
	}
	data := bytes.Clone(body)
	sum := sha256.Sum256(data)
	if bytes.HasPrefix(data, wasmMagic) {
		return a.putPiece(c, id, data, hex.EncodeToString(sum[:]))
	}
	if a.native == nil {
		return Fail(http.StatusServiceUnavailable, "native_disabled", "native plugins are not enabled on this host")
	}
	// Install runs nothing before the checksum is checked against the
	// lock file (verification on) and writes nothing to the plugin dir
	// before the binary started and declared id.
	if err := a.native.Install(id, bytes.NewReader(data)); err != nil {
		if errors.Is(err, native.ErrNotPinned) {
			return Fail(http.StatusForbidden, "plugin_not_pinned", fmt.Sprintf(
				"verification is on and plugins.lock does not pin this binary: add the line %q to plugins.lock, then upload again (%v)",
				plugindir.LockLine(plugindir.NativeFile(id), hex.EncodeToString(sum[:])), err))
		}
		return Fail(http.StatusUnprocessableEntity, "plugin_refused", "the plugin was not installed: "+err.Error())
	}
	for _, p := range a.Plugins() {
		if p.ID == id && p.Kind == runtimes.KindNative {
			return c.JSON(p)
		}
	}
	return c.JSON(PluginJSON{ID: id, Kind: runtimes.KindNative, Checksum: hex.EncodeToString(sum[:]), State: native.StateIdle})
}

func (a *Admin) putPiece(c *fiber.Ctx, id string, data []byte, sum string) error {
	if a.wasmRT == nil || a.loader == nil {
		return Fail(http.StatusServiceUnavailable, "pieces_disabled", "wasm pieces are not enabled on this host")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verify {
		// The lock file pins what may run; an upload never writes it.
		if err := plugindir.Verify(a.lockFile, plugindir.PieceFile(id), sum); err != nil {
			if !errors.Is(err, plugindir.ErrNotPinned) {
				return err
			}
			return Fail(http.StatusForbidden, "plugin_not_pinned", fmt.Sprintf(
				"verification is on and plugins.lock does not pin this module: add the line %q to plugins.lock, then upload again", plugindir.LockLine(plugindir.PieceFile(id), sum)))
		}
	}
	// Check the module before it reaches the directory: it must load and
	// declare the id it is installed as.
	a.pending.Store(sum, true)
	p, err := a.wasmRT.LoadBytes(plugindir.PieceFile(id), data)
	a.pending.Delete(sum)
	if err != nil {
		return Fail(http.StatusUnprocessableEntity, "plugin_refused", "the module is not a valid piece: "+err.Error())
	}
	got := p.Spec().ID
	p.Close()
	if got != id {
		return Fail(http.StatusUnprocessableEntity, "plugin_refused", fmt.Sprintf("the module declares piece id %q, not %q", got, id))
	}
	if err := plugindir.WriteAtomic(a.dir, plugindir.PieceFile(id), bytes.NewReader(data), 0o644); err != nil {
		return fmt.Errorf("write piece %s: %w", id, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if h, ok := a.loader.Handle(id); ok {
			if cur := h.Current(); cur != nil && cur.Checksum() == sum {
				m := cur.Manifest()
				return c.JSON(PluginJSON{ID: id, Kind: runtimes.KindPiece, Name: m.Name, Version: m.Version, Checksum: sum, State: "loaded"})
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Fail(http.StatusAccepted, "pending", "the piece was written and is still loading")
}

// verifyPiece is the wasm runtime's verifier when verification is on: a
// module must match its line in the lock file (or be an admin upload
// being checked).
func (a *Admin) verifyPiece(path string, sum [32]byte) error {
	hexSum := hex.EncodeToString(sum[:])
	if _, ok := a.pending.Load(hexSum); ok {
		return nil
	}
	return plugindir.Verify(a.lockFile, filepath.Base(path), hexSum)
}
