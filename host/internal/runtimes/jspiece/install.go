package jspiece

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/atomhq/atom/host/internal/plugindir"
)

// InstallRequest asks a Loader to install a piece.
type InstallRequest struct {
	// Spec is "@activepieces/piece-<name>[@version]"; Tarball, when set
	// instead, is the bytes of a package .tgz.
	Spec    string
	Tarball []byte
	// Hosts are hosts the piece may fetch from besides BaseHost's.
	Hosts []string
	// BaseHost returns the host of the catalog entry's base URL of a
	// piece id ("" when none): the first host the piece may reach.
	BaseHost func(id string) string
	// Verify, when set, must accept the metadata file (name, hex
	// SHA-256) before anything is written: plugins.lock pins it.
	Verify func(name, sum string) error
}

// Install fetches a piece with npm (or from a tarball), bundles it, loads
// it, and only then writes its artifact to the directory and serves it: a
// piece that does not load, or that plugins.lock does not pin when
// verification is on, leaves the directory as it was. Refusals are
// *plugindir.Error.
func (l *Loader) Install(ctx context.Context, req InstallRequest) (plugindir.Plugin, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return plugindir.Plugin{}, ErrClosed
	}
	l.loads.Add(1)
	l.mu.Unlock()
	defer l.loads.Done()
	// One install at a time: npm and the bundler take a core each.
	select {
	case l.installing <- struct{}{}:
		defer func() { <-l.installing }()
	case <-ctx.Done():
		return plugindir.Plugin{}, fmt.Errorf("waiting for another install to finish: %w", ctx.Err())
	}

	spec := req.Spec
	work, err := os.MkdirTemp("", "atom-jspiece-")
	if err != nil {
		return plugindir.Plugin{}, err
	}
	defer os.RemoveAll(work)
	if req.Tarball != nil {
		spec = filepath.Join(work, "piece.tgz")
		if err := os.WriteFile(spec, req.Tarball, 0o600); err != nil {
			return plugindir.Plugin{}, err
		}
	} else if _, _, _, err := ParseSpec(spec); err != nil || strings.HasSuffix(spec, ".tgz") {
		return plugindir.Plugin{}, &plugindir.Error{Code: CodeInvalidPackage,
			Message: "package must name an Activepieces piece on the npm registry: @activepieces/piece-<name>, with version a version or range"}
	}
	for _, h := range req.Hosts {
		if err := validHost(h); err != nil {
			return plugindir.Plugin{}, &plugindir.Error{Code: CodeInvalidPackage, Message: err.Error()}
		}
	}
	a, lock, err := Fetch(ctx, work, spec)
	if err != nil {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeRefused, Message: "the piece was not installed: " + err.Error()}
	}
	// Every package bundled comes from a registry, with its integrity: a
	// dependency on a local directory, a link or a git repository would
	// put what the host's disk or a third party holds into the bundle.
	for name, e := range lock {
		if e.Version == "" || e.Integrity == "" {
			return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeRefused, Message: fmt.Sprintf(
				"the piece was not installed: its dependency %q is not a registry package with an integrity hash (a file:, link: or git dependency); depend on published packages only", name)}
		}
	}
	var hosts []string
	if req.BaseHost != nil {
		if h := req.BaseHost(a.ID); h != "" {
			hosts = append(hosts, h)
		}
	}
	for _, h := range req.Hosts {
		if !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	a.Hosts = hosts
	meta, _, err := Encode(a, lock)
	if err != nil {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeInvalidID, Message: fmt.Sprintf("the package %s gives the id %q: %s", a.Package, a.ID, plugindir.IDRule)}
	}
	name := plugindir.JSPieceFile(a.ID)
	if req.Verify != nil {
		if err := req.Verify(name, meta.FileSHA256); err != nil {
			if !errors.Is(err, plugindir.ErrNotPinned) {
				return plugindir.Plugin{}, err
			}
			return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeNotPinned, Message: fmt.Sprintf(
				"verification is on and plugins.lock does not pin %s@%s: add the line %q to plugins.lock, then add it again",
				a.Package, a.Version, plugindir.LockLine(name, meta.FileSHA256))}
		}
	}
	rt, err := l.Runtime()
	if err != nil {
		return plugindir.Plugin{}, err
	}
	p, err := rt.Load(ctx, a)
	if err != nil {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodeRefused, Message: fmt.Sprintf("the bundle of %s@%s does not load: %v", a.Package, a.Version, err)}
	}
	p.Close()
	if _, err := Write(l.cfg.Dir, a, lock); err != nil {
		return plugindir.Plugin{}, err
	}
	// The watcher syncs it too; whichever comes first loads it, the
	// other finds it unchanged.
	if err := l.Sync(a.ID); err != nil {
		return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodePending, Message: fmt.Sprintf("%s was written to the plugin directory but does not serve: %v", a.ID, err)}
	}
	for _, pl := range l.Plugins() {
		if pl.ID == a.ID {
			return pl, nil
		}
	}
	return plugindir.Plugin{}, &plugindir.Error{Code: plugindir.CodePending, Message: a.ID + " was written to the plugin directory but is not loaded"}
}

// Uninstall removes piece id's files and unloads it; calls under way
// finish.
func (l *Loader) Uninstall(id string) error {
	if plugindir.CheckID(id) != nil {
		return &plugindir.Error{Code: plugindir.CodeInvalidID, Message: plugindir.IDRule}
	}
	if err := Remove(l.cfg.Dir, id); err != nil {
		if _, serr := os.Stat(filepath.Join(l.cfg.Dir, id+metaSuffix)); errors.Is(serr, os.ErrNotExist) {
			return &plugindir.Error{Code: CodeNoSuchPiece, Message: fmt.Sprintf("no JS piece %q is installed", id)}
		}
		return err
	}
	return l.Sync(id)
}

// Refusal codes of Install and Uninstall besides plugindir's.
const (
	CodeInvalidPackage = "invalid_package"
	CodeNoSuchPiece    = "piece_not_found"
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
