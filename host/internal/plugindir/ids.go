package plugindir

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// File naming.
const (
	// NativePrefix starts a native plugin's file name: atom-provider-<id>.
	NativePrefix = "atom-provider-"
	// PieceSuffix ends a piece's file name: <id>.wasm.
	PieceSuffix = ".wasm"
	// LockName is the lock file's name in the directory.
	LockName = "plugins.lock"
	// JSPieceMetaSuffix and JSPieceBundleSuffix end the two files of a
	// JS piece (`atom pieces add`): <id>.jspiece.json, its metadata,
	// which plugins.lock pins, and <id>.jspiece.js, its bundle.
	JSPieceMetaSuffix   = ".jspiece.json"
	JSPieceBundleSuffix = ".jspiece.js"
)

// ErrBadID is returned (wrapped) for an id that breaks the id rules.
var ErrBadID = errors.New("invalid plugin id")

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// IDRule says the id rules in words, for error messages.
const IDRule = "plugin ids are 1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit"

// CheckID returns nil for a valid id, else an error wrapping ErrBadID.
func CheckID(id string) error {
	if !idRe.MatchString(id) {
		return fmt.Errorf("%w %q: %s", ErrBadID, id, IDRule)
	}
	return nil
}

// NativeFile is the file name of native plugin id.
func NativeFile(id string) string { return NativePrefix + id }

// PieceFile is the file name of piece id.
func PieceFile(id string) string { return id + PieceSuffix }

// JSPieceFile is the file name of the metadata of JS piece id, the file
// plugins.lock pins.
func JSPieceFile(id string) string { return id + JSPieceMetaSuffix }

// Kind tells what a file of the directory holds.
type Kind int

// Kinds of files.
const (
	// Other is neither a plugin nor the lock file: hidden, temporary or
	// backup files, and names that bind no valid id.
	Other Kind = iota
	// Native is a native plugin binary.
	Native
	// Piece is a wasm module.
	Piece
	// Lock is the lock file.
	Lock
	// JSPiece is either file of a JS piece: its metadata or its bundle.
	JSPiece
)

// Classify says what the file called name (a base name) in the directory
// is, and the id its name binds.
func Classify(name string) (Kind, string) {
	if name == LockName {
		return Lock, ""
	}
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".swp") {
		return Other, ""
	}
	for _, suffix := range []string{JSPieceMetaSuffix, JSPieceBundleSuffix} {
		if id, ok := strings.CutSuffix(name, suffix); ok {
			if CheckID(id) != nil {
				return Other, ""
			}
			return JSPiece, id
		}
	}
	if id, ok := strings.CutSuffix(name, PieceSuffix); ok {
		if CheckID(id) != nil {
			return Other, ""
		}
		return Piece, id
	}
	id := strings.TrimPrefix(name, NativePrefix)
	if CheckID(id) != nil {
		return Other, ""
	}
	return Native, id
}
