package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/adapter"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
)

// fakeDiscord behaves like Discord's webhook endpoint:
// POST /api/webhooks/{id}/{token} answers 204, or the message with ?wait=true;
// an empty message is refused with Discord's error shape.
func fakeDiscord(t *testing.T) (*httptest.Server, *atomic.Value) {
	var last atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if r.Method != "POST" || len(parts) != 4 || parts[0] != "api" || parts[1] != "webhooks" || parts[3] != "tok" {
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"Unknown Webhook","code":10015}`)
			return
		}
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		if m["content"] == nil || m["content"] == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"message":"Cannot send an empty message","code":50006}`)
			return
		}
		last.Store(m)
		if r.URL.Query().Get("wait") == "true" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"111","content":`+jsonString(m["content"])+`}`)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestPiecesAdapter(t *testing.T) {
	discord, last := fakeDiscord(t)
	wasmFile := testbin.BuildWasm(t, "plugins/pieces/discord", "")
	h := startHost(t, hosttest.Options{
		Rewrite: map[string]string{"discord.com": discord.URL},
		Prepare: func(dir string) { testbin.Install(t, wasmFile, dir, "discord.wasm", 0o644) },
	})
	a := adapter.New(h.URL, h.Tenant.Key, "user-1")
	ctx := context.Background()

	res, err := a.ExecutePiece(ctx, adapter.ExecuteRequest{
		PieceID: "discord", Action: "send_message",
		Config: map[string]string{"webhook_url": "https://discord.com/api/webhooks/1/tok"},
		Input:  map[string]any{"content": "Hello from ATOM!"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Output) != `{"sent":true}` || !strings.HasPrefix(res.ExecutionID, "exe_") {
		t.Fatalf("result %s %s", res.Output, res.ExecutionID)
	}
	if m, _ := last.Load().(map[string]any); m["content"] != "Hello from ATOM!" {
		t.Fatalf("discord received %v", m)
	}
	var x struct{ Implementation, Status, Provider string }
	h.Must(h.Call("GET", "/api/v1/executions/"+res.ExecutionID, h.Tenant.Key, nil, nil), 200, &x)
	if x.Implementation != "piece" || x.Status != "succeeded" || x.Provider != "discord" {
		t.Fatalf("recorded %+v", x)
	}

	// Input validated by the piece's schema; provider errors as diagnostics.
	_, err = a.ExecutePiece(ctx, adapter.ExecuteRequest{PieceID: "discord", Action: "send_message",
		Config: map[string]string{"webhook_url": "https://discord.com/api/webhooks/1/tok"}, Input: map[string]any{}})
	var ae *adapter.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_input" || !strings.Contains(ae.Message, "content") {
		t.Fatalf("missing content: %v", err)
	}
	_, err = a.ExecutePiece(ctx, adapter.ExecuteRequest{PieceID: "discord", Action: "send_message",
		Config: map[string]string{"webhook_url": "https://discord.com/api/webhooks/1/wrong"}, Input: map[string]any{"content": "x"}})
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(ae.Message, "Unknown Webhook") || ae.ExecutionID == "" {
		t.Fatalf("unknown webhook: %v", err)
	}

	// Listing and search return catalog entries with their actions.
	comm, err := a.ListPieces(ctx, "communication")
	if err != nil {
		t.Fatal(err)
	}
	if comm.Total == 0 || len(comm.Pieces) == 0 {
		t.Fatalf("communication: %+v", comm)
	}
	found := false
	for _, p := range comm.Pieces {
		if p.ID == "discord" {
			found = true
			if p.Implementation != "piece" || !hasAction(p, "send_message") || !hasAction(p, "custom_api_call") {
				t.Fatalf("discord entry %+v", p)
			}
		}
		if p.Connectable && !hasAction(p, "custom_api_call") {
			t.Fatalf("connectable %s lacks custom_api_call", p.ID)
		}
	}
	if !found && comm.Total <= len(comm.Pieces) {
		t.Fatal("discord missing from communication")
	}
	checkOffered(t, h, a, comm.Pieces)
	crm, err := a.SearchPieces(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if len(crm.Pieces) == 0 {
		t.Fatal("no crm results")
	}
	for _, p := range crm.Pieces[:min(5, len(crm.Pieces))] {
		if !contains(p.Categories, "crm") && !strings.Contains(strings.ToLower(p.ID+p.Name), "crm") {
			t.Fatalf("top crm result %+v is not about crm", p)
		}
	}
	if _, err := a.ListPieces(ctx, "no-such-category"); !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("unknown category: %v", err)
	}
}

// checkOffered checks that every action a listing offers runs here (with
// an input it refuses as invalid, so nothing leaves: 400, never 404) and
// that the upstream names kept for reference are apart and answer 404.
func checkOffered(t *testing.T, h *hosttest.Host, a *adapter.Client, pieces []adapter.Piece) {
	t.Helper()
	ctx := context.Background()
	var ae *adapter.Error
	refs := 0
	for _, p := range pieces {
		for _, act := range p.Actions {
			if len(act.InputSchema) == 0 || act.Implementation == "" {
				t.Fatalf("%s/%s listed without its input schema or implementation: %+v", p.ID, act.Name, act)
			}
			_, err := a.ExecutePiece(ctx, adapter.ExecuteRequest{PieceID: p.ID, Action: act.Name, Input: map[string]any{"method": 7, "content": 7}})
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_input" {
				t.Fatalf("offered %s/%s with invalid input: %v", p.ID, act.Name, err)
			}
			if hasRef(p, act.Name) {
				t.Fatalf("%s/%s is both runnable and a reference action", p.ID, act.Name)
			}
		}
		for _, ref := range p.ReferenceActions[:min(2, len(p.ReferenceActions))] {
			refs++
			_, err := a.ExecutePiece(ctx, adapter.ExecuteRequest{PieceID: p.ID, Action: ref, Input: map[string]any{}})
			if !errors.As(err, &ae) || ae.Status != 404 || (ae.Code != "unknown_action" && ae.Code != "unknown_provider") {
				t.Fatalf("reference action %s/%s: %v", p.ID, ref, err)
			}
		}
	}
	if refs == 0 {
		t.Fatal("no reference actions listed")
	}
}

func hasRef(p adapter.Piece, name string) bool {
	for _, r := range p.ReferenceActions {
		if r == name {
			return true
		}
	}
	return false
}

func hasAction(p adapter.Piece, name string) bool {
	for _, a := range p.Actions {
		if a.Name == name {
			return true
		}
	}
	return false
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

type pluginRow struct {
	ID, Kind, Version, Checksum, State string
	LastError                          string `json:"last_error"`
	Calls                              int64
}

func pluginList(h *hosttest.Host) []pluginRow {
	var v struct{ Plugins []pluginRow }
	h.Must(h.Call("GET", "/api/v1/admin/plugins", h.AdminKey, nil, nil), 200, &v)
	return v.Plugins
}

func plugin(h *hosttest.Host, id string) (pluginRow, bool) {
	for _, p := range pluginList(h) {
		if p.ID == id {
			return p, true
		}
	}
	return pluginRow{}, false
}

func TestHotReloadUnderLoad(t *testing.T) {
	v := []string{testbin.Echo(t, "echo", "1.0.0"), testbin.Echo(t, "echo", "2.0.0"), testbin.Echo(t, "echo", "3.0.0"), testbin.Echo(t, "echo", "4.0.0")}
	other := testbin.Echo(t, "echo2", "1.0.0")
	h := startHost(t, hosttest.Options{Prepare: func(dir string) { testbin.Install(t, v[0], dir, "atom-provider-echo", 0o755) }})
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{"n": 1}, nil), 200, nil)

	stop := make(chan struct{})
	stats, wg := h.Load(h.Tenant, 8, "echo", "echo", map[string]any{"n": 1}, stop)
	for i := 1; i <= 3; i++ {
		time.Sleep(300 * time.Millisecond)
		testbin.Install(t, v[i], h.Plugins, "atom-provider-echo", 0o755)
		want := []string{"", "2.0.0", "3.0.0", "4.0.0"}[i]
		hosttest.WaitFor(t, 20*time.Second, "version "+want, func() bool {
			p, _ := plugin(h, "echo")
			return p.Version == want
		})
	}
	testbin.Install(t, other, h.Plugins, "atom-provider-echo2", 0o755)
	hosttest.WaitFor(t, 20*time.Second, "echo2", func() bool {
		return h.Exec(h.Tenant, "echo2", "echo", map[string]any{}, nil).Status == 200
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	ok, failures := stats.OK(), stats.Failures()
	if len(failures) != 0 || ok == 0 {
		t.Fatalf("%d ok, failures by status %v: reloads must fail no request", ok, failures)
	}
	var out struct {
		Output struct{ Version string } `json:"output"`
	}
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, &out)
	if out.Output.Version != "4.0.0" {
		t.Fatalf("serving %s after reloads", out.Output.Version)
	}
	t.Logf("%d requests during 3 replacements and 1 addition, 0 failed", ok)
}

func TestKillPluginUnderLoad(t *testing.T) {
	bin := testbin.Echo(t, "echo", "1.0.0")
	h := startHost(t, hosttest.Options{Prepare: func(dir string) { testbin.Install(t, bin, dir, "atom-provider-echo", 0o755) }})
	var first struct {
		Output struct{ PID int } `json:"output"`
	}
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, &first)

	stop := make(chan struct{})
	stats, wg := h.Load(h.Tenant, 8, "echo", "sleep", map[string]any{"ms": 100}, stop)
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(first.Output.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The host stays up and serves again.
	var recovered time.Duration
	hosttest.WaitFor(t, 10*time.Second, "echo serving again", func() bool {
		r, err := h.Try("POST", "/api/v1/integrations/echo/actions/echo", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
		if err == nil && r.Status == 200 {
			recovered = time.Since(killed)
			return true
		}
		return false
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	ok, failures := stats.OK(), stats.Failures()
	for status := range failures {
		if status != http.StatusBadGateway {
			t.Fatalf("failures %v: only in-flight calls may fail, with 502", failures)
		}
	}
	h.Must(h.Call("GET", "/healthz", h.Tenant.Key, nil, nil), 200, nil)
	var after struct {
		Output struct{ PID int } `json:"output"`
	}
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, &after)
	if after.Output.PID == first.Output.PID {
		t.Fatal("the killed process still serves")
	}
	t.Logf("%d ok, %d in-flight 502s, serving again %s after kill -9", ok, len(failures[http.StatusBadGateway]), recovered.Round(time.Millisecond))
}

func TestTamperedBinaryRefused(t *testing.T) {
	good := testbin.Echo(t, "echo", "1.0.0")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append(append([]byte{}, data...), []byte("tampered")...)
	goodSum := sha256.Sum256(data)
	h := startHost(t, hosttest.Options{Verify: true, Prepare: func(dir string) {
		// The lock file trusts the good binary; the directory holds another.
		lock := hex.EncodeToString(goodSum[:]) + "  atom-provider-echo\n"
		if err := os.WriteFile(dir+"/plugins.lock", []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/atom-provider-echo", tampered, 0o755); err != nil {
			t.Fatal(err)
		}
	}})
	p, _ := plugin(h, "echo")
	if p.State != "refused" || !strings.Contains(strings.ToLower(p.LastError), "sha") {
		t.Fatalf("tampered binary listed as %+v, want refused with the reason", p)
	}
	if r := h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil); r.Status != 404 {
		t.Fatalf("tampered plugin answered %d: %s", r.Status, r.Body)
	}

	// An admin upload is trusted, recorded in the lock file and served.
	var row pluginRow
	h.Must(h.Call("PUT", "/api/v1/admin/plugins/echo", h.AdminKey, data, nil), 200, &row)
	if row.Kind != "native" || row.Checksum != hex.EncodeToString(goodSum[:]) {
		t.Fatalf("uploaded %+v", row)
	}
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, nil)

	// A binary swapped behind the host's back is refused; the verified
	// version keeps serving and the listing says why.
	if err := os.WriteFile(h.Plugins+"/.tmp-echo", tampered, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(h.Plugins+"/.tmp-echo", h.Plugins+"/atom-provider-echo"); err != nil {
		t.Fatal(err)
	}
	hosttest.WaitFor(t, 20*time.Second, "the refusal", func() bool {
		p, _ := plugin(h, "echo")
		return p.LastError != ""
	})
	p, _ = plugin(h, "echo")
	if p.Checksum != row.Checksum || !strings.Contains(strings.ToLower(p.LastError), "sha") {
		t.Fatalf("after tampering: %+v", p)
	}
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, nil)
}

// TestLockFileChangeLoadsBoth: with verification on, a native plugin and a
// piece dropped before their lines are in plugins.lock are refused; writing
// the lock file loads both, through the directory's one watcher.
func TestLockFileChangeLoadsBoth(t *testing.T) {
	files := map[string]string{
		"atom-provider-echo": testbin.Echo(t, "echo", "1.0.0"),
		"discord.wasm":       testbin.BuildWasm(t, "plugins/pieces/discord", ""),
	}
	h := startHost(t, hosttest.Options{Verify: true, Prepare: func(dir string) {
		for name, src := range files {
			mode := os.FileMode(0o755)
			if strings.HasSuffix(name, ".wasm") {
				mode = 0o644
			}
			testbin.Install(t, src, dir, name, mode)
		}
	}})
	for _, id := range []string{"echo", "discord"} {
		if p, ok := plugin(h, id); !ok || p.State != "refused" {
			t.Fatalf("%s before its lock line: %+v", id, p)
		}
	}
	var lock strings.Builder
	for name, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		lock.WriteString(plugindir.LockLine(name, hex.EncodeToString(sum[:])) + "\n")
	}
	if err := os.WriteFile(h.Plugins+"/.plugins.lock.new", []byte(lock.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(h.Plugins+"/.plugins.lock.new", h.Plugins+"/"+plugindir.LockName); err != nil {
		t.Fatal(err)
	}
	hosttest.WaitFor(t, 60*time.Second, "both to load", func() bool {
		n, _ := plugin(h, "echo")
		p, _ := plugin(h, "discord")
		return n.State != "refused" && n.State != "" && p.State == "loaded"
	})
	h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, nil)
}
