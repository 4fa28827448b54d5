package api

import (
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
)

// AdminConfig configures the admin plugin API.
type AdminConfig struct {
	// Dir is ATOM_PLUGIN_DIR; LockFile its plugins.lock.
	Dir, LockFile string
	// Verify is ATOM_PLUGIN_VERIFY: a module must match its lock line.
	Verify bool
	// UploadOff refuses uploads (ATOM_PLUGIN_UPLOAD=off).
	UploadOff bool
	// MaxBytes bounds an upload (DefaultMaxPluginBytes when zero).
	MaxBytes int64
	// Stats returns the calls and last error of an implementation
	// (engine.Engine.Stats).
	Stats func(kind, id string) (calls int64, lastErr string)
}

// NewAdmin returns the admin plugin API. It serves the runtimes given to
// Attach; VerifyPiece may be handed to the wasm runtime before that.
func NewAdmin(c AdminConfig) *Admin {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxPluginBytes
	}
	if c.Stats == nil {
		c.Stats = func(string, string) (int64, string) { return 0, "" }
	}
	return &Admin{dir: c.Dir, lockFile: c.LockFile, verify: c.Verify, uploadOff: c.UploadOff, maxBytes: c.MaxBytes, stats: c.Stats}
}

// Attach gives the admin API the native manager, the wasm runtime and
// the piece loader it serves; each may be nil (that kind is disabled).
// It is called once, while the host is assembled, before it serves.
func (a *Admin) Attach(mgr *native.Manager, rt *wasm.Runtime, loader *wasm.Loader) {
	a.native, a.wasmRT, a.loader = mgr, rt, loader
}

// VerifyPiece is the wasm runtime's verifier when verification is on: a
// module must match its line in the lock file, or be an upload being
// checked.
func (a *Admin) VerifyPiece(path string, sum [32]byte) error { return a.verifyPiece(path, sum) }
