package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

const piecesUsage = `usage: atom pieces add [-dir DIR | -api URL] [-host HOST]... @activepieces/piece-<name>[@version] | FILE.tgz
       atom pieces list [-dir DIR | -api URL]
       atom pieces remove [-dir DIR | -api URL] ID

Installs an Activepieces piece, as published on the npm registry (or from a
local tarball), as a JS piece: npm fetches it and its dependencies (no
lifecycle scripts), esbuild bundles it, the JS runtime loads it once to check
it, and the bundle is written to DIR as <id>.jspiece.js with <id>.jspiece.json
(version, SHA-256, the resolved version and integrity of every bundled
package). The piece may fetch only from its hosts: the host of the catalog
entry's base URL and each -host (a domain or *.domain). DIR defaults to
ATOM_PLUGIN_DIR (./bin/plugins). npm must be installed.

With -api (or ATOM_API_URL), the command goes to a running host's admin API
(/api/v1/admin/pieces) with ATOM_ADMIN_KEY as the bearer token: the host
fetches and bundles the piece (a tarball is uploaded), loads it and serves it
at once; with ATOM_PLUGIN_VERIFY on it refuses a piece until plugins.lock pins
it, and says which line to add.
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
	apiURL := fs.String("api", os.Getenv("ATOM_API_URL"), "base URL of a running host: use its admin API instead of -dir")
	var hosts multiFlag
	if sub == "add" {
		fs.Var(&hosts, "host", "a host the piece may fetch from (repeatable)")
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if *apiURL != "" {
		return piecesAPI(ctx, &http.Client{Timeout: 10 * time.Minute}, strings.TrimRight(*apiURL, "/"), os.Getenv("ATOM_ADMIN_KEY"), sub, fs.Args(), hosts, stdout)
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

// piecesAPI runs add, list or remove against a host's admin API.
func piecesAPI(ctx context.Context, client *http.Client, base, key, sub string, args, hosts []string, stdout io.Writer) error {
	if key == "" {
		return errors.New("pieces -api: set ATOM_ADMIN_KEY to the host's admin key")
	}
	var method, path, ctype string
	var body io.Reader
	switch sub {
	case "add":
		if len(args) != 1 {
			return errors.New("pieces add: name one package")
		}
		method, path = "POST", "/api/v1/admin/pieces"
		if strings.HasSuffix(args[0], ".tgz") {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			body, ctype = bytes.NewReader(b), "application/gzip"
			if len(hosts) > 0 {
				path += "?hosts=" + url.QueryEscape(strings.Join(hosts, ","))
			}
		} else {
			pkg, ver, _, err := jspiece.ParseSpec(args[0])
			if err != nil {
				return err
			}
			b, _ := json.Marshal(map[string]any{"package": pkg, "version": ver, "hosts": hosts})
			body, ctype = bytes.NewReader(b), "application/json"
		}
	case "list":
		method, path = "GET", "/api/v1/admin/pieces"
	case "remove":
		if len(args) != 1 {
			return errors.New("pieces remove: name one piece id")
		}
		method, path = "DELETE", "/api/v1/admin/pieces/"+url.PathEscape(args[0])
	default:
		return fmt.Errorf("unknown pieces command %q", sub)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	switch sub {
	case "add":
		var p plugindir.Plugin
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s@%s, %d actions, metadata sha256:%s); hosts: %s\n", p.ID, p.Name, p.Version, len(p.Actions), p.Checksum, strings.Join(p.AllowedHosts, ","))
	case "list":
		var l struct{ Pieces []plugindir.Plugin }
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		if len(l.Pieces) == 0 {
			fmt.Fprintf(stdout, "no JS pieces on %s\n", base)
		}
		for _, p := range l.Pieces {
			line := fmt.Sprintf("%s\t%s@%s\t%s\thosts:%s", p.ID, p.Name, p.Version, p.State, strings.Join(p.AllowedHosts, ","))
			if p.LastError != "" {
				line += "\t" + p.LastError
			}
			fmt.Fprintln(stdout, line)
		}
	case "remove":
		fmt.Fprintf(stdout, "removed %s from %s\n", args[0], base)
	}
	return nil
}
