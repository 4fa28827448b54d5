package plugindir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/atomhq/atom/host/internal/runtimes"
)

// DefaultMaxUploadBytes bounds an uploaded plugin.
const DefaultMaxUploadBytes = 256 << 20

var wasmMagic = []byte{0x00, 'a', 's', 'm'}

// Plugin describes one native plugin or piece of the directory, as the
// admin API lists it.
type Plugin struct {
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

// Natives is what the directory asks of the native plugin manager.
type Natives interface {
	// Upload checks the binary (pinned when verification is on, an
	// error wrapping ErrNotPinned if not; started in its sandbox and
	// declaring id), then writes it to the directory and loads it.
	Upload(id string, data []byte) (Plugin, error)
	// Plugins lists the native plugins, including refused and failed ones.
	Plugins() []Plugin
	// Serving is the number of native plugins loaded and serving.
	Serving() int
}

// Pieces is what the directory asks of the wasm loader.
type Pieces interface {
	// Upload checks the module (it loads and declares id), then writes
	// it to the directory and loads it. A module refused is an *Error
	// (CodeRefused, or CodePending when it was written but does not
	// serve).
	Upload(id string, data []byte) (Plugin, error)
	// Plugins lists the pieces, including the files that were refused.
	Plugins() []Plugin
}

// JSPieces is what the directory asks of the JS piece loader.
type JSPieces interface {
	// Install fetches spec (an npm package spec) or tarball, bundles and
	// loads it, and writes it to the directory only once it loads and,
	// when verify is set, verify accepts its metadata file. Refusals are
	// *Error.
	Install(ctx context.Context, spec string, tarball []byte, hosts []string, verify func(name, sum string) error) (Plugin, error)
	// Uninstall removes a piece's files and unloads it.
	Uninstall(id string) error
	// Plugins lists the JS pieces, including refused ones.
	Plugins() []Plugin
}

// AdminConfig configures an Admin.
type AdminConfig struct {
	// LockFile is the lock file; Verify turns on its check of uploads.
	LockFile string
	Verify   bool
	// UploadOff refuses uploads (ATOM_PLUGIN_UPLOAD=off).
	UploadOff bool
	// MaxBytes bounds an upload (DefaultMaxUploadBytes when not positive).
	MaxBytes int64
	// Natives and Pieces install and list; nil when the runtime is off.
	Natives Natives
	Pieces  Pieces
	// JSPieces installs and lists JS pieces; nil when they are off.
	JSPieces JSPieces
	// Stats returns the calls of a piece and its last error (the engine
	// counts them); nil leaves them zero.
	Stats func(kind, id string) (calls int64, lastErr string)
}

// Admin is the plugin directory's administration, without HTTP: list the
// plugins, upload one. Nothing uploaded runs before its checksum is
// checked against the lock file when verification is on, and nothing is
// written to the directory before the artifact loaded and declared the id
// its name binds.
type Admin struct {
	cfg       AdminConfig
	uploadOff atomic.Bool
}

// NewAdmin returns the administration cfg describes.
func NewAdmin(cfg AdminConfig) *Admin {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxUploadBytes
	}
	a := &Admin{cfg: cfg}
	a.uploadOff.Store(cfg.UploadOff)
	return a
}

// Error is a refused upload: Code is the API's error code.
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Message }

// Error codes of uploads.
const (
	CodeUploadDisabled = "plugin_upload_disabled"
	CodeInvalidID      = "invalid_plugin_id"
	CodeEmptyBody      = "empty_body"
	CodeTooLarge       = "body_too_large"
	CodeNotPinned      = "plugin_not_pinned"
	CodeRefused        = "plugin_refused"
	CodeNativeOff      = "native_disabled"
	CodePiecesOff      = "pieces_disabled"
	CodePending        = "pending"
)

// SetUploadOff switches uploads off (or on) while the host runs.
func (a *Admin) SetUploadOff(off bool) { a.uploadOff.Store(off) }

// NativeCount is the number of native providers loaded and serving.
func (a *Admin) NativeCount() int {
	if a.cfg.Natives == nil {
		return 0
	}
	return a.cfg.Natives.Serving()
}

// Plugins lists native plugins and pieces, sorted by id then kind.
func (a *Admin) Plugins() []Plugin {
	out := []Plugin{}
	if a.cfg.Natives != nil {
		out = append(out, a.cfg.Natives.Plugins()...)
	}
	if a.cfg.Pieces != nil {
		for _, p := range a.cfg.Pieces.Plugins() {
			if a.cfg.Stats != nil && p.State != "refused" {
				p.Calls, p.LastError = a.cfg.Stats(runtimes.KindPiece, p.ID)
			}
			out = append(out, p)
		}
	}
	if a.cfg.JSPieces != nil {
		for _, p := range a.cfg.JSPieces.Plugins() {
			if a.cfg.Stats != nil && p.State != "refused" {
				p.Calls, p.LastError = a.cfg.Stats(runtimes.KindPiece, p.ID)
			}
			out = append(out, p)
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

// Upload installs data as plugin id: a wasm piece when it starts with the
// wasm magic bytes, else a native binary.
func (a *Admin) Upload(id string, data []byte) (Plugin, error) {
	if a.uploadOff.Load() {
		return Plugin{}, &Error{Code: CodeUploadDisabled, Message: "plugin uploads are switched off on this host (ATOM_PLUGIN_UPLOAD=off): deploy the file to ATOM_PLUGIN_DIR, with its line in plugins.lock when verification is on"}
	}
	if CheckID(id) != nil {
		return Plugin{}, &Error{Code: CodeInvalidID, Message: IDRule}
	}
	if len(data) == 0 {
		return Plugin{}, &Error{Code: CodeEmptyBody, Message: "send the plugin binary or .wasm module as the request body"}
	}
	if int64(len(data)) > a.cfg.MaxBytes {
		return Plugin{}, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("plugins are limited to %d bytes", a.cfg.MaxBytes)}
	}
	s := sha256.Sum256(data)
	sum := hex.EncodeToString(s[:])
	if bytes.HasPrefix(data, wasmMagic) {
		if a.cfg.Pieces == nil {
			return Plugin{}, &Error{Code: CodePiecesOff, Message: "wasm pieces are not enabled on this host"}
		}
		// The lock file pins what may run; an upload never writes it.
		if a.cfg.Verify {
			if err := Verify(a.cfg.LockFile, PieceFile(id), sum); err != nil {
				if !errors.Is(err, ErrNotPinned) {
					return Plugin{}, err
				}
				return Plugin{}, &Error{Code: CodeNotPinned, Message: fmt.Sprintf(
					"verification is on and plugins.lock does not pin this module: add the line %q to plugins.lock, then upload again", LockLine(PieceFile(id), sum))}
			}
		}
		// A refusal is an *Error; anything else failed on the host's side.
		return a.cfg.Pieces.Upload(id, data)
	}
	if a.cfg.Natives == nil {
		return Plugin{}, &Error{Code: CodeNativeOff, Message: "native plugins are not enabled on this host"}
	}
	p, err := a.cfg.Natives.Upload(id, data)
	if errors.Is(err, ErrNotPinned) {
		return Plugin{}, &Error{Code: CodeNotPinned, Message: fmt.Sprintf(
			"verification is on and plugins.lock does not pin this binary: add the line %q to plugins.lock, then upload again (%v)", LockLine(NativeFile(id), sum), err)}
	}
	if err != nil {
		return Plugin{}, &Error{Code: CodeRefused, Message: "the plugin was not installed: " + err.Error()}
	}
	return p, nil
}

// JSPieceRequest asks for a JS piece: an npm package at a version, or a
// package tarball.
type JSPieceRequest struct {
	Package string
	Version string
	Tarball []byte
	// Hosts the piece may reach besides its catalog entry's base URL host.
	Hosts []string
}

// JSPieceList lists the JS pieces.
func (a *Admin) JSPieceList() []Plugin {
	out := []Plugin{}
	if a.cfg.JSPieces != nil {
		out = append(out, a.cfg.JSPieces.Plugins()...)
	}
	return out
}

// AddJSPiece installs a JS piece. With verification on, nothing is
// written or run before plugins.lock pins the piece's metadata file.
func (a *Admin) AddJSPiece(ctx context.Context, req JSPieceRequest) (Plugin, error) {
	if a.uploadOff.Load() {
		return Plugin{}, &Error{Code: CodeUploadDisabled, Message: "plugin uploads are switched off on this host (ATOM_PLUGIN_UPLOAD=off): run `atom pieces add` against ATOM_PLUGIN_DIR, with its line in plugins.lock when verification is on"}
	}
	if a.cfg.JSPieces == nil {
		return Plugin{}, &Error{Code: CodePiecesOff, Message: "JS pieces are not enabled on this host"}
	}
	spec := ""
	if req.Tarball == nil {
		if req.Package == "" {
			return Plugin{}, &Error{Code: CodeEmptyBody, Message: `send {"package": "@activepieces/piece-<name>", "version": "<version>"} or a package .tgz (Content-Type: application/gzip)`}
		}
		spec = req.Package
		if req.Version != "" {
			spec += "@" + req.Version
		}
	} else {
		if len(req.Tarball) == 0 {
			return Plugin{}, &Error{Code: CodeEmptyBody, Message: "send the package .tgz as the request body"}
		}
		if int64(len(req.Tarball)) > a.cfg.MaxBytes {
			return Plugin{}, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("pieces are limited to %d bytes", a.cfg.MaxBytes)}
		}
	}
	var verify func(name, sum string) error
	if a.cfg.Verify {
		verify = func(name, sum string) error { return Verify(a.cfg.LockFile, name, sum) }
	}
	return a.cfg.JSPieces.Install(ctx, spec, req.Tarball, req.Hosts, verify)
}

// RemoveJSPiece removes a JS piece; calls under way finish.
func (a *Admin) RemoveJSPiece(id string) error {
	if a.uploadOff.Load() {
		return &Error{Code: CodeUploadDisabled, Message: "plugin changes through the API are switched off on this host (ATOM_PLUGIN_UPLOAD=off): run `atom pieces remove` against ATOM_PLUGIN_DIR"}
	}
	if a.cfg.JSPieces == nil {
		return &Error{Code: CodePiecesOff, Message: "JS pieces are not enabled on this host"}
	}
	if CheckID(id) != nil {
		return &Error{Code: CodeInvalidID, Message: IDRule}
	}
	return a.cfg.JSPieces.Uninstall(id)
}
