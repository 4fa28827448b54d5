package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

// relaySource is a small piece in the framework's shape: "version" says
// which version of the file serves, "slow" fetches from the provider and
// answers once it does.
func relaySource(version int) []byte {
	return []byte(fmt.Sprintf(`
const actions = {
  version: { name: 'version', displayName: 'Version', props: {}, async run() { return { version: %[1]d }; } },
  slow: { name: 'slow', displayName: 'Slow', props: {}, async run() {
    const r = await fetch('https://api.relay.test/wait');
    return { version: %[1]d, upstream: await r.text() };
  } },
};
module.exports = { relay: { displayName: 'Relay', description: 'relays', categories: ['DEVELOPER_TOOLS'], actions: () => actions } };
`, version))
}

const relayDescriptor = `{"id":"relay","name":"Relay","categories":["development"],"auth":{"kind":"none"},
	"api":{"base_url":"https://api.relay.test"},"implementations":["piece"],"connectable":true}`

func writeRelay(t testing.TB, dir string, version int) {
	t.Helper()
	a := jspiece.Artifact{ID: "relay", Package: "@activepieces/piece-relay", Version: fmt.Sprintf("%d.0.0", version),
		Hosts: []string{"api.relay.test"}, Source: relaySource(version)}
	if _, err := jspiece.Write(dir, a, nil); err != nil {
		t.Fatal(err)
	}
}

// relayVersion runs "version" and returns the version that answered, or
// 0 with the status when the call did not succeed.
func relayVersion(h *hosttest.Host) (int, int) {
	r, err := h.Try("POST", "/api/v1/integrations/relay/actions/version", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
	if err != nil || r.Status != 200 {
		return 0, r.Status
	}
	var res struct{ Output struct{ Version int } }
	if json.Unmarshal(r.Body, &res) != nil {
		return 0, r.Status
	}
	return res.Output.Version, r.Status
}

// TestJSPieceHotReload drops a JS piece into the plugin directory of a
// running host, replaces it while a call runs on it (the call finishes
// on the old version, new calls go to the new one), refuses a file whose
// bundle does not match its metadata (the version serving keeps serving)
// and removes it.
func TestJSPieceHotReload(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				io.WriteString(w, "released")
			}))
			defer upstream.Close()
			h := startHost(t, hosttest.Options{Backend: backend, Catalog: map[string]string{"relay.json": relayDescriptor},
				Rewrite: map[string]string{"api.relay.test": upstream.URL}})

			start := time.Now()
			writeRelay(t, h.Plugins, 1)
			hosttest.WaitFor(t, 60*time.Second, "the dropped piece to serve", func() bool { v, _ := relayVersion(h); return v == 1 })
			t.Logf("file added → first successful call: %v (engine compiled without a cache)", time.Since(start).Round(time.Millisecond))

			var acts struct{ Actions []struct{ Name string } }
			h.Must(h.Call("GET", "/api/v1/integrations/relay/actions", h.Tenant.Key, nil, nil), 200, &acts)
			names := []string{}
			for _, a := range acts.Actions {
				names = append(names, a.Name)
			}
			if !contains(names, "version") || !contains(names, "slow") {
				t.Fatalf("actions: %v", names)
			}

			// A call under way when the file is replaced.
			var wg sync.WaitGroup
			var slow hosttest.Response
			wg.Add(1)
			go func() {
				defer wg.Done()
				slow, _ = h.Try("POST", "/api/v1/integrations/relay/actions/slow", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
			}()
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				t.Fatal("the slow call never reached the provider")
			}
			writeRelay(t, h.Plugins, 2)
			hosttest.WaitFor(t, 60*time.Second, "version 2 to serve", func() bool { v, _ := relayVersion(h); return v == 2 })
			close(release)
			wg.Wait()
			var res struct {
				Output struct {
					Version  int
					Upstream string
				}
			}
			h.Must(slow, 200, &res)
			if res.Output.Version != 1 || res.Output.Upstream != "released" {
				t.Fatalf("the call under way during the swap: %s", slow.Body)
			}

			var list struct{ Pieces []plugindir.Plugin }
			h.Must(h.Call("GET", "/api/v1/admin/pieces", h.AdminKey, nil, nil), 200, &list)
			if len(list.Pieces) != 1 || list.Pieces[0].ID != "relay" || list.Pieces[0].Version != "2.0.0" || list.Pieces[0].State != "loaded" {
				t.Fatalf("admin list: %+v", list.Pieces)
			}

			// A bundle that does not match its metadata: refused, and
			// version 2 keeps serving.
			if err := os.WriteFile(filepath.Join(h.Plugins, "relay.jspiece.js"), relaySource(3), 0o644); err != nil {
				t.Fatal(err)
			}
			hosttest.WaitFor(t, 30*time.Second, "the tampered bundle to be refused", func() bool {
				h.Must(h.Call("GET", "/api/v1/admin/pieces", h.AdminKey, nil, nil), 200, &list)
				return len(list.Pieces) == 1 && strings.Contains(list.Pieces[0].LastError, "does not match")
			})
			if v, st := relayVersion(h); v != 2 {
				t.Fatalf("after a tampered bundle: version %d (status %d)", v, st)
			}

			// Removed: the piece stops serving, its actions leave the list.
			if err := jspiece.Remove(h.Plugins, "relay"); err != nil {
				t.Fatal(err)
			}
			hosttest.WaitFor(t, 30*time.Second, "the removed piece to stop serving", func() bool { _, st := relayVersion(h); return st == 404 })
			h.Must(h.Call("GET", "/api/v1/admin/pieces", h.AdminKey, nil, nil), 200, &list)
			if len(list.Pieces) != 0 {
				t.Fatalf("admin list after removal: %+v", list.Pieces)
			}
		})
	}
}

// packDir makes an npm package tarball (entries under package/) of an
// installed package directory.
func packDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(rel, "node_modules") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestJSPieceAdminAPI adds a published piece through the admin API (a
// package tarball; npm resolves its dependencies from its cache, filled by
// scripts/jspieces-npm.sh), runs it, removes it, and checks who may call
// the routes and what bad requests get. With verification on, nothing is
// written before plugins.lock pins the piece.
func TestJSPieceAdminAPI(t *testing.T) {
	dir := npmPieces(t)
	tgz := packDir(t, filepath.Join(dir, "node_modules", "@activepieces", "piece-discord"))
	// A piece depending on a directory of the host's disk.
	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "package.json"), []byte(`{"name":"host-secrets","version":"1.0.0","main":"index.js"}`), 0o644)
	os.WriteFile(filepath.Join(local, "index.js"), []byte(`module.exports = "from the host's disk";`), 0o644)
	evilDir := t.TempDir()
	os.WriteFile(filepath.Join(evilDir, "package.json"), []byte(`{"name":"@activepieces/piece-evil","version":"0.0.1","main":"index.js",
		"dependencies":{"host-secrets":"file:`+local+`"}}`), 0o644)
	os.WriteFile(filepath.Join(evilDir, "index.js"), []byte(`module.exports = require("host-secrets");`), 0o644)
	evil := packDir(t, evilDir)
	// The dependencies come from npm's cache, not the network.
	t.Setenv("npm_config_prefer_offline", "true")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			api := newRecorder(t, map[string]reply{"POST /api/webhooks/1/tok": {Status: 204}})
			h := startHost(t, hosttest.Options{Backend: backend, Verify: true, Rewrite: map[string]string{"discord.com": api.URL},
				Catalog: map[string]string{"discord.json": `{"id":"discord","name":"Discord","categories":["communication"],"auth":{"kind":"none"},
					"api":{"base_url":"https://discord.com"},"implementations":["piece"],"connectable":true}`}})
			gz := map[string]string{"Content-Type": "application/gzip"}

			// Who may call: the admin key only.
			for _, key := range []string{"", h.Tenant.Key, "adm_wrong"} {
				if r := h.Call("POST", "/api/v1/admin/pieces", key, map[string]any{"package": "@activepieces/piece-discord"}, nil); r.Status != 401 && r.Status != 403 {
					t.Fatalf("add with key %q: %d %s", key, r.Status, r.Body)
				}
				if r := h.Call("DELETE", "/api/v1/admin/pieces/discord", key, nil, nil); r.Status != 401 && r.Status != 403 {
					t.Fatalf("remove with key %q: %d %s", key, r.Status, r.Body)
				}
				if r := h.Call("GET", "/api/v1/admin/pieces", key, nil, nil); r.Status != 401 && r.Status != 403 {
					t.Fatalf("list with key %q: %d %s", key, r.Status, r.Body)
				}
			}
			// Bad requests: refused before npm runs, saying what to send.
			for _, c := range []struct {
				body   any
				hdr    map[string]string
				status int
				code   string
			}{
				{map[string]any{"package": "lodash"}, nil, 400, "invalid_package"},
				{map[string]any{"package": "@activepieces/piece-slack", "version": "1.0.0 && curl evil"}, nil, 400, "invalid_package"},
				{map[string]any{"package": "@activepieces/piece-../../x"}, nil, 400, "invalid_package"},
				{map[string]any{"package": "/tmp/evil.tgz"}, nil, 400, "invalid_package"},
				{map[string]any{"package": "@activepieces/piece-slack", "hosts": []string{"127.0.0.1:22"}}, nil, 400, "invalid_package"},
				{map[string]any{"version": "1.0.0"}, nil, 400, "invalid_input"},
				{map[string]any{"package": "@activepieces/piece-slack", "extra": 1}, nil, 400, "invalid_json"},
				{"{", nil, 400, "invalid_json"},
				{[]byte("x"), map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type"},
				{[]byte{}, gz, 400, plugindir.CodeEmptyBody},
				{[]byte("not a tarball"), gz, 422, plugindir.CodeRefused},
			} {
				r := h.Call("POST", "/api/v1/admin/pieces", h.AdminKey, c.body, c.hdr)
				if code, msg := r.ErrorCode(); r.Status != c.status || code != c.code || msg == "" {
					t.Fatalf("add %v: %d %s, want %d %s", c.body, r.Status, r.Body, c.status, c.code)
				}
			}
			if r := h.Call("POST", "/api/v1/admin/pieces", h.AdminKey, evil, gz); r.Status != 422 || !strings.Contains(string(r.Body), `is not a registry package`) {
				t.Fatalf("a piece with a file: dependency: %d %s", r.Status, r.Body)
			}
			for _, id := range []string{"Discord", "a.b", "..%2Fx"} {
				if r := h.Call("DELETE", "/api/v1/admin/pieces/"+id, h.AdminKey, nil, nil); r.Status != 400 && r.Status != 404 {
					t.Fatalf("remove %q: %d %s", id, r.Status, r.Body)
				}
			}
			if r := h.Call("DELETE", "/api/v1/admin/pieces/discord", h.AdminKey, nil, nil); r.Status != 404 {
				t.Fatalf("remove a piece never added: %d %s", r.Status, r.Body)
			}

			// Verification on: refused until plugins.lock pins it, and
			// nothing written meanwhile.
			r := h.Call("POST", "/api/v1/admin/pieces", h.AdminKey, tgz, gz)
			code, msg := r.ErrorCode()
			if r.Status != 403 || code != plugindir.CodeNotPinned {
				t.Fatalf("unpinned add: %d %s", r.Status, r.Body)
			}
			if _, err := os.Stat(filepath.Join(h.Plugins, "discord.jspiece.json")); !os.IsNotExist(err) {
				t.Fatalf("an unpinned piece was written: %v", err)
			}
			line := msg[strings.Index(msg, `"`)+1:]
			line = line[:strings.Index(line, `"`)]
			if !strings.HasSuffix(line, "  discord.jspiece.json") {
				t.Fatalf("the refusal names no lock line: %s", msg)
			}
			if err := os.WriteFile(filepath.Join(h.Plugins, plugindir.LockName), []byte(line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var added plugindir.Plugin
			h.Must(h.Call("POST", "/api/v1/admin/pieces", h.AdminKey, tgz, gz), 201, &added)
			if added.ID != "discord" || added.Kind != "jspiece" || added.Name != "@activepieces/piece-discord" || added.State != "loaded" ||
				!contains(added.Actions, "send_message_webhook") || !contains(added.AllowedHosts, "discord.com") {
				t.Fatalf("added: %+v", added)
			}
			var res struct{ Status string }
			h.Must(h.Exec(h.Tenant, "discord", "send_message_webhook", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/tok", "content": "hi"}, nil), 200, &res)
			if got := api.requests(); len(got) != 1 || got[0].Body != `{"content":"hi"}` {
				t.Fatalf("provider received %+v", got)
			}
			var plugins struct{ Plugins []plugindir.Plugin }
			h.Must(h.Call("GET", "/api/v1/admin/plugins", h.AdminKey, nil, nil), 200, &plugins)
			if len(plugins.Plugins) != 1 || plugins.Plugins[0].Kind != "jspiece" || plugins.Plugins[0].Calls != 1 {
				t.Fatalf("admin plugins: %+v", plugins.Plugins)
			}

			if r := h.Call("DELETE", "/api/v1/admin/pieces/discord", h.AdminKey, nil, nil); r.Status != 204 {
				t.Fatalf("remove: %d %s", r.Status, r.Body)
			}
			if r := h.Exec(h.Tenant, "discord", "send_message_webhook", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/tok", "content": "hi"}, nil); r.Status != 404 {
				t.Fatalf("a removed piece ran: %d %s", r.Status, r.Body)
			}
			if _, err := os.Stat(filepath.Join(h.Plugins, "discord.jspiece.js")); !os.IsNotExist(err) {
				t.Fatalf("the bundle is still there: %v", err)
			}
		})
	}
}

// TestJSPieceDropVerified: with verification on, a JS piece dropped into
// the plugin directory does not run before plugins.lock pins its metadata
// file; once the line is added it loads without a restart.
func TestJSPieceDropVerified(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			h := startHost(t, hosttest.Options{Backend: backend, Verify: true, Catalog: map[string]string{"relay.json": relayDescriptor}})
			writeRelay(t, h.Plugins, 1)
			var list struct{ Pieces []plugindir.Plugin }
			hosttest.WaitFor(t, 60*time.Second, "the unpinned piece to be refused", func() bool {
				h.Must(h.Call("GET", "/api/v1/admin/pieces", h.AdminKey, nil, nil), 200, &list)
				return len(list.Pieces) == 1 && list.Pieces[0].State == "refused"
			})
			if !strings.Contains(list.Pieces[0].LastError, "relay.jspiece.json") {
				t.Fatalf("refusal: %+v", list.Pieces[0])
			}
			if v, st := relayVersion(h); st != 404 {
				t.Fatalf("an unpinned piece answered: version %d, status %d", v, st)
			}
			_, meta, err := jspiece.Read(h.Plugins, "relay")
			if err != nil {
				t.Fatal(err)
			}
			line := plugindir.LockLine(plugindir.JSPieceFile("relay"), meta.FileSHA256)
			if err := os.WriteFile(filepath.Join(h.Plugins, plugindir.LockName), []byte(line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			hosttest.WaitFor(t, 60*time.Second, "the pinned piece to serve", func() bool { v, _ := relayVersion(h); return v == 1 })
			// A new version not pinned: refused, the pinned one serves on.
			writeRelay(t, h.Plugins, 2)
			hosttest.WaitFor(t, 30*time.Second, "the unpinned version to be refused", func() bool {
				h.Must(h.Call("GET", "/api/v1/admin/pieces", h.AdminKey, nil, nil), 200, &list)
				return len(list.Pieces) == 1 && list.Pieces[0].LastError != ""
			})
			if v, _ := relayVersion(h); v != 1 {
				t.Fatalf("after an unpinned version: version %d", v)
			}
		})
	}
}
