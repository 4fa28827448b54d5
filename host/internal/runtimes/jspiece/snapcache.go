package jspiece

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// The snapshot cache keeps, in Config.CacheDir beside wazero's compiled
// code, the linear memory of an instance with a bundle loaded and the
// piece's description, so that loading the same bundle again (a restart,
// a re-added file) is a file read instead of a parse. The directory must
// be the host's alone, as for wazero's cache, whose compiled native code
// is trusted the same way. A file is named by the SHA-256 of everything
// that shapes the memory (engine, prelude, bundle, memory cap) and holds
// the SHA-256 of its contents, checked on every read: a file that does
// not match is removed and the bundle parsed afresh.
//
// File: magic, SHA-256 of the rest, spec length (uint32 LE), spec JSON,
// memory.
var snapMagic = []byte("ATOMJSSNAP1\n")

// snapPath returns the cache file of a wrapped bundle, or "" without a
// cache directory.
func (r *Runtime) snapPath(src []byte) string {
	if r.cfg.CacheDir == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "engine %s\nprelude %x\npages %d\n", EngineChecksum(), sha256.Sum256(prelude), r.cfg.MemoryPages)
	h.Write(src)
	return filepath.Join(r.cfg.CacheDir, "jspiece", hex.EncodeToString(h.Sum(nil))+".snap")
}

// readSnap returns the cached memory and description of src, if a sound
// file holds them.
func (r *Runtime) readSnap(path string) (mem, spec []byte, ok bool) {
	if path == "" {
		return nil, nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false
	}
	bad := func(why string) ([]byte, []byte, bool) {
		r.cfg.Logger.Warn("js piece snapshot cache: file refused, parsing the bundle again", "file", filepath.Base(path), "reason", why)
		os.Remove(path)
		return nil, nil, false
	}
	n := len(snapMagic)
	if len(b) < n+32+4 || !bytes.Equal(b[:n], snapMagic) {
		return bad("not a snapshot file")
	}
	sum := sha256.Sum256(b[n+32:])
	if !bytes.Equal(sum[:], b[n:n+32]) {
		return bad("contents do not match their SHA-256")
	}
	rest := b[n+32:]
	sl := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(sl) > uint64(len(rest)) || (len(rest)-int(sl))%65536 != 0 || len(rest)-int(sl) > int(r.cfg.MemoryPages)*65536 {
		return bad("malformed")
	}
	return rest[sl:], rest[:sl], true
}

// writeSnap stores mem and spec for src; a failure only costs the next
// load a parse.
func (r *Runtime) writeSnap(path string, mem, spec []byte) {
	if path == "" {
		return
	}
	body := make([]byte, 4, 4+len(spec)+len(mem))
	binary.LittleEndian.PutUint32(body, uint32(len(spec)))
	body = append(append(body, spec...), mem...)
	sum := sha256.Sum256(body)
	out := append(append(append([]byte(nil), snapMagic...), sum[:]...), body...)
	err := os.MkdirAll(filepath.Dir(path), 0o700)
	if err == nil {
		err = writeAtomic(path, out)
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		r.cfg.Logger.Warn("js piece snapshot cache: not written", "err", err)
	}
}
