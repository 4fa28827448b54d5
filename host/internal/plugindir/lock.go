package plugindir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotPinned is returned (wrapped) for an artifact whose checksum is not
// the lock file's line for its file.
var ErrNotPinned = errors.New("checksum not pinned in the lock file")

// LockFile is the parsed lock file: file name → lower-case SHA-256 hex.
type LockFile map[string]string

// ReadLock reads a lock file: "<sha256 hex>  <file name>" per line, as
// sha256sum writes it (a leading * on the name, binary mode, is dropped);
// blank lines and lines starting with # are skipped. A missing file is
// empty; a malformed line is an error naming it.
func ReadLock(path string) (LockFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return LockFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := LockFile{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <file name>\"", filepath.Base(path), n)
		}
		out[strings.TrimPrefix(f[1], "*")] = strings.ToLower(f[0])
	}
	return out, sc.Err()
}

// Check returns nil when the lock file pins sum (hex) for the file name,
// else an error wrapping ErrNotPinned that says what the file has and
// what the lock file expects.
func (l LockFile) Check(name, sum string) error {
	want, ok := l[name]
	if !ok {
		return fmt.Errorf("%w: %s (sha256 %s) is not in the lock file", ErrNotPinned, name, sum)
	}
	if want != sum {
		return fmt.Errorf("%w: %s has sha256 %s, the lock file says %s", ErrNotPinned, name, sum, want)
	}
	return nil
}

// Verify reads the lock file at path and checks name's sum against it.
func Verify(path, name, sum string) error {
	l, err := ReadLock(path)
	if err != nil {
		return fmt.Errorf("read lock file: %w", err)
	}
	return l.Check(name, sum)
}

// LockLine is the line that pins sum for the file name.
func LockLine(name, sum string) string { return sum + "  " + name }
