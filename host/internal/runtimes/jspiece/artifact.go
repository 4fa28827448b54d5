package jspiece

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/plugindir"
)

// Artifact files in a plugin directory: <id>.jspiece.js holds the bundle,
// <id>.jspiece.json its Meta. Neither is executable, so the native
// plugin loader leaves them alone.
const (
	bundleSuffix = plugindir.JSPieceBundleSuffix
	metaSuffix   = plugindir.JSPieceMetaSuffix
)

// Meta describes an installed artifact.
type Meta struct {
	ID      string   `json:"id"`
	Package string   `json:"package"`
	Version string   `json:"version"`
	Hosts   []string `json:"hosts"`
	// SHA256 is the hex SHA-256 of the bundle file; a bundle that does not
	// match is refused.
	SHA256 string `json:"sha256"`
	// Engine is the SHA-256 of the engine that loaded the bundle when it
	// was added.
	Engine string `json:"engine"`
	// Lock lists every npm package bundled, by path in node_modules, with
	// its resolved version and integrity.
	Lock map[string]LockEntry `json:"lock"`
	// FileSHA256 is the hex SHA-256 of the metadata file as Read found
	// it: the one line plugins.lock pins for a JS piece, since the file
	// holds the bundle's hash and the hosts the piece may reach.
	FileSHA256 string `json:"-"`
}

// LockEntry is one package of Meta.Lock.
type LockEntry struct {
	Version   string `json:"version"`
	Integrity string `json:"integrity,omitempty"`
}

// PieceID returns the Atom provider id of an Activepieces package: the
// catalog entry it serves where the catalog names it otherwise
// ("@activepieces/piece-google-sheets" → "google-sheet"), else its own name
// ("@activepieces/piece-slack" → "slack").
func PieceID(pkg string) string {
	name := strings.TrimPrefix(pkg, "@activepieces/piece-")
	if c := embeddedCatalog(); c != nil {
		return c.ForActivepieces(name)
	}
	return name
}

// embeddedCatalog is the catalog built into the binary, loaded once.
var embeddedCatalog = sync.OnceValue(func() *catalog.Catalog {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		return nil
	}
	return c
})

var (
	pkgName = regexp.MustCompile(`^@activepieces/piece-[a-z0-9][a-z0-9._-]*$`)
	version = regexp.MustCompile(`^[0-9A-Za-z.+~^<>=*-]+$`)
)

// ParseSpec splits "@activepieces/piece-<name>[@version]". A path to a
// local .tgz is returned as the source with the package left empty (npm
// reads the name from the tarball).
func ParseSpec(spec string) (pkg, ver, source string, err error) {
	if strings.HasSuffix(spec, ".tgz") {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return "", "", "", err
		}
		return "", "", "file:" + abs, nil
	}
	pkg, ver = spec, ""
	if i := strings.LastIndex(spec, "@"); i > 0 {
		pkg, ver = spec[:i], spec[i+1:]
	}
	if !pkgName.MatchString(pkg) {
		return "", "", "", fmt.Errorf("%q is not an Activepieces piece package (@activepieces/piece-<name>[@version] or a .tgz)", spec)
	}
	if ver == "" {
		ver = "latest"
	}
	if !version.MatchString(ver) {
		return "", "", "", fmt.Errorf("invalid version %q", ver)
	}
	return pkg, ver, ver, nil
}

// Fetch installs spec and its dependencies with npm into a new directory
// under work (lifecycle scripts off), bundles it and returns the artifact
// and its lock. npm must be on PATH.
func Fetch(ctx context.Context, work, spec string) (Artifact, map[string]LockEntry, error) {
	pkg, _, source, err := ParseSpec(spec)
	if err != nil {
		return Artifact{}, nil, err
	}
	dir, err := os.MkdirTemp(work, "jspiece-")
	if err != nil {
		return Artifact{}, nil, err
	}
	defer os.RemoveAll(dir)
	deps := map[string]string{}
	for _, sp := range SupportPackages {
		name, ver, _ := strings.Cut(sp, "@")
		deps[name] = ver
	}
	name := pkg
	if name == "" {
		// A tarball: npm installs it under the name it declares.
		name = "atom-tarball-piece"
	}
	deps[name] = source
	pj, _ := json.Marshal(map[string]any{"name": "atom-jspiece-install", "private": true, "dependencies": deps})
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pj, 0o600); err != nil {
		return Artifact{}, nil, err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return Artifact{}, nil, fmt.Errorf("npm install %s: %v: %s", spec, err, truncate(strings.TrimSpace(string(out)), 2000))
	}
	if pkg == "" {
		// The tarball's own name, from what npm installed.
		var got struct{ Name string }
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if err != nil || !pkgName.MatchString(got.Name) {
			return Artifact{}, nil, fmt.Errorf("%s is not an Activepieces piece package", spec)
		}
		pkg = got.Name
	}
	var installed struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &installed)
	}
	if err != nil {
		return Artifact{}, nil, fmt.Errorf("read the installed %s: %w", pkg, err)
	}
	lock, err := readLock(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return Artifact{}, nil, err
	}
	src, err := Bundle(dir, name)
	if err != nil {
		return Artifact{}, nil, err
	}
	return Artifact{ID: PieceID(pkg), Package: pkg, Version: installed.Version, Source: src}, lock, nil
}

func readLock(path string) (map[string]LockEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read package-lock.json: %w", err)
	}
	var lf struct {
		Packages map[string]LockEntry `json:"packages"`
	}
	if err := json.Unmarshal(b, &lf); err != nil {
		return nil, fmt.Errorf("package-lock.json: %w", err)
	}
	out := map[string]LockEntry{}
	for k, v := range lf.Packages {
		if k != "" {
			out[strings.TrimPrefix(k, "node_modules/")] = v
		}
	}
	return out, nil
}

// Write stores a in dir as <id>.jspiece.js and <id>.jspiece.json, each
// through a temporary file and a rename, the bundle first.
func Write(dir string, a Artifact, lock map[string]LockEntry) (Meta, error) {
	m, mb, err := Encode(a, lock)
	if err != nil {
		return Meta{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Meta{}, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{a.ID + bundleSuffix, a.Source}, {a.ID + metaSuffix, mb}} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return Meta{}, err
		}
	}
	return m, nil
}

// Encode returns the metadata of a and the bytes of its metadata file as
// Write writes them, FileSHA256 filled in: what plugins.lock must pin.
func Encode(a Artifact, lock map[string]LockEntry) (Meta, []byte, error) {
	if err := plugindir.CheckID(a.ID); err != nil {
		return Meta{}, nil, err
	}
	sum := sha256.Sum256(a.Source)
	m := Meta{ID: a.ID, Package: a.Package, Version: a.Version, Hosts: a.Hosts, SHA256: hex.EncodeToString(sum[:]),
		Engine: EngineChecksum(), Lock: lock}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Meta{}, nil, err
	}
	mb = append(mb, '\n')
	fileSum := sha256.Sum256(mb)
	m.FileSHA256 = hex.EncodeToString(fileSum[:])
	return m, mb, nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".jspiece-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// Read reads the artifact of id from dir and checks the bundle's hash.
func Read(dir, id string) (Artifact, Meta, error) {
	if err := plugindir.CheckID(id); err != nil {
		return Artifact{}, Meta{}, err
	}
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, id+metaSuffix))
	if err != nil {
		return Artifact{}, Meta{}, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Artifact{}, Meta{}, fmt.Errorf("%s%s: %w", id, metaSuffix, err)
	}
	fileSum := sha256.Sum256(b)
	m.FileSHA256 = hex.EncodeToString(fileSum[:])
	if m.ID != id {
		return Artifact{}, Meta{}, fmt.Errorf("%w: %s%s declares id %q", ErrInvalidPiece, id, metaSuffix, m.ID)
	}
	src, err := os.ReadFile(filepath.Join(dir, id+bundleSuffix))
	if err != nil {
		return Artifact{}, Meta{}, err
	}
	sum := sha256.Sum256(src)
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		return Artifact{}, Meta{}, fmt.Errorf("%w: %s%s does not match the SHA-256 in %s%s", ErrInvalidPiece, id, bundleSuffix, id, metaSuffix)
	}
	return Artifact{ID: id, Package: m.Package, Version: m.Version, Hosts: m.Hosts, Source: src}, m, nil
}

// List returns the metadata of every artifact in dir, by id. A missing
// directory holds none.
func List(dir string) ([]Meta, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Meta
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), metaSuffix)
		if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var m Meta
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		m.ID = id
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Remove deletes the artifact of id from dir.
func Remove(dir, id string) error {
	if err := plugindir.CheckID(id); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, id+metaSuffix)); err != nil {
		return fmt.Errorf("no JS piece %q in %s", id, dir)
	}
	// The metadata first: without it the bundle is not loaded.
	if err := os.Remove(filepath.Join(dir, id+metaSuffix)); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, id+bundleSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// LoadDir loads every artifact in dir. Pieces that fail are reported in
// the error and skipped; the others are returned.
func (r *Runtime) LoadDir(ctx context.Context, dir string) ([]*Piece, error) {
	metas, err := List(dir)
	if err != nil {
		return nil, err
	}
	var pieces []*Piece
	var errs []error
	for _, m := range metas {
		a, meta, err := Read(dir, m.ID)
		if err == nil && r.cfg.Verify != nil {
			// The bytes checked are the bytes loaded: Read hashed the
			// metadata it parsed, and the bundle against its SHA256.
			err = r.cfg.Verify(m.ID+metaSuffix, meta.FileSHA256)
		}
		if err == nil {
			var p *Piece
			if p, err = r.Load(ctx, a); err == nil {
				pieces = append(pieces, p)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("js piece %s: %w", m.ID, err))
	}
	return pieces, errors.Join(errs...)
}
