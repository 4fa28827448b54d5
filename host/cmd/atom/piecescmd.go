package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

const piecesUsage = `usage: atom pieces add [-dir DIR] [-host HOST]... @activepieces/piece-<name>[@version] | FILE.tgz
       atom pieces list [-dir DIR]
       atom pieces remove [-dir DIR] ID

Installs an Activepieces piece, as published on the npm registry (or from a
local tarball), as a JS piece: npm fetches it and its dependencies (no
lifecycle scripts), esbuild bundles it, the JS runtime loads it once to check
it, and the bundle is written to DIR as <id>.jspiece.js with <id>.jspiece.json
(version, SHA-256, the resolved version and integrity of every bundled
package). The piece may fetch only from its hosts: the host of the catalog
entry's base URL and each -host (a domain or *.domain). DIR defaults to
ATOM_PLUGIN_DIR (./bin/plugins). npm must be installed.
`

// piecesCmd runs `atom pieces`.
func piecesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, piecesUsage)
		return errors.New("usage: atom pieces add|list|remove")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("pieces "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, piecesUsage) }
	def := os.Getenv("ATOM_PLUGIN_DIR")
	if def == "" {
		def = "./bin/plugins"
	}
	dir := fs.String("dir", def, "plugin directory")
	var hosts multiFlag
	if sub == "add" {
		fs.Var(&hosts, "host", "a host the piece may fetch from (repeatable)")
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	switch sub {
	case "add":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, piecesUsage)
			return errors.New("pieces add: name one package")
		}
		return piecesAdd(ctx, *dir, fs.Arg(0), hosts, stdout)
	case "list":
		metas, err := jspiece.List(*dir)
		if err != nil {
			return err
		}
		if len(metas) == 0 {
			fmt.Fprintf(stdout, "no JS pieces in %s\n", *dir)
		}
		for _, m := range metas {
			fmt.Fprintf(stdout, "%s\t%s@%s\tsha256:%s\thosts:%s\n", m.ID, m.Package, m.Version, m.SHA256, strings.Join(m.Hosts, ","))
		}
		return nil
	case "remove":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, piecesUsage)
			return errors.New("pieces remove: name one piece id")
		}
		if err := jspiece.Remove(*dir, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", fs.Arg(0), *dir)
		return nil
	}
	fmt.Fprint(stderr, piecesUsage)
	return fmt.Errorf("unknown pieces command %q", sub)
}

func piecesAdd(ctx context.Context, dir, spec string, hosts []string, stdout io.Writer) error {
	work, err := os.MkdirTemp("", "atom-pieces-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	a, lock, err := jspiece.Fetch(ctx, work, spec)
	if err != nil {
		return err
	}
	cat, err := catalog.Load(catalog.OptionsFromEnv())
	if err != nil {
		return err
	}
	if d, ok := cat.Get(a.ID); ok && d.API.BaseURL != "" && !strings.Contains(d.API.BaseURL, "{{") {
		if u, err := url.Parse(d.API.BaseURL); err == nil && u.Hostname() != "" {
			hosts = append([]string{strings.ToLower(u.Hostname())}, hosts...)
		}
	}
	a.Hosts = hosts
	// Loaded with the host's cache directory, when there is one, the
	// snapshot of the loaded bundle is left there: the host's first load
	// of the file reads it instead of parsing the bundle.
	rt, err := jspiece.NewRuntime(ctx, jspiece.Config{CacheDir: piecesCacheDir()})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	p, err := rt.Load(ctx, a)
	if err != nil {
		return fmt.Errorf("the bundle of %s@%s does not load: %w", a.Package, a.Version, err)
	}
	p.Close()
	m, err := jspiece.Write(dir, a, lock)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s (%s@%s, %d actions, %d packages bundled, sha256:%s) to %s; hosts: %s\n",
		m.ID, m.Package, m.Version, len(p.Manifest().Actions), len(m.Lock), m.SHA256, dir, strings.Join(m.Hosts, ","))
	// With ATOM_PLUGIN_VERIFY on, the host loads the piece only once
	// plugins.lock pins its metadata file (which pins the bundle and hosts).
	if _, written, err := jspiece.Read(dir, m.ID); err == nil {
		fmt.Fprintf(stdout, "with ATOM_PLUGIN_VERIFY=true, pin it in %s:\n%s\n", plugindir.LockName,
			plugindir.LockLine(m.ID+".jspiece.json", written.FileSHA256))
	}
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// piecesCacheDir is the host's JS piece cache directory (under
// ATOM_DATA_DIR, default ./data) if the data directory exists, else "".
func piecesCacheDir() string {
	d := os.Getenv("ATOM_DATA_DIR")
	if d == "" {
		d = "./data"
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return ""
	}
	return filepath.Join(d, "jspiece-cache")
}
