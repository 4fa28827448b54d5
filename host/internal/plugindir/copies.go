package plugindir

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
)

// Copies keeps private copies of plugin binaries in a directory of the
// host's alone (mode 0700): a copy is named by the file name and the
// checksum of its bytes, is read-only for everyone (0555), and is what
// gets verified and executed, so a plugin that rewrites the plugin
// directory changes nothing that runs.
type Copies struct {
	// Dir holds the copies.
	Dir string
}

// Path is where the copy of name with checksum sum (hex) lives.
func (c Copies) Path(name, sum string) string {
	return filepath.Join(c.Dir, name+"-"+sum[:16])
}

// Existing hashes the file at path and returns its checksum and the copy
// already made of those bytes (a restart finds one for every unchanged
// file), or bin "" when there is none. Only reading, it spares a restart
// the copy of every binary; what runs is still a copy named by the
// checksum, written by Copy from the bytes it hashed.
func (c Copies) Existing(path, name string) (sum, bin string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	bin = c.Path(name, sum)
	if fi, err := os.Lstat(bin); err != nil || !fi.Mode().IsRegular() {
		return sum, "", nil
	}
	return sum, bin, os.Chmod(bin, 0o555)
}

// Copy copies src into the directory, hashing while copying, and returns
// the checksum and the copy's path.
func (c Copies) Copy(src io.Reader, name string) (sum, bin string, err error) {
	tmp, err := os.CreateTemp(c.Dir, ".copy-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return "", "", err
	}
	if err := tmp.Close(); err != nil {
		return "", "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	bin = c.Path(name, sum)
	if _, err := os.Stat(bin); err == nil {
		return sum, bin, os.Chmod(bin, 0o555)
	}
	// Owned by the host, executable by the plugin's uid, writable by no
	// one: the directory is the host's alone (0700).
	if err := os.Chmod(tmp.Name(), 0o555); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", "", err
	}
	return sum, bin, nil
}

// WriteAtomic writes data to dir/name through a synced temporary file
// renamed into place, so that a watcher never sees a partial file.
func WriteAtomic(dir, name string, data io.Reader, mode os.FileMode) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := io.Copy(f, data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
