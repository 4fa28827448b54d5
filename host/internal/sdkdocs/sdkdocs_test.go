package sdkdocs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
	"github.com/atomhq/atom/sdk/provider"
)

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}()

// snippetPattern matches `<!-- checklist: NAME -->` and the fenced block
// after it; the fence may be indented (inside a list item).
var snippetPattern = regexp.MustCompile("(?s)<!-- checklist: ([a-z.]+) -->\\s*\\n([ \\t]*)```[a-z]*\\n(.*?)\\n[ \\t]*```")

// snippets returns the checklist snippets of sdk/README.md by name, with
// the list indentation removed.
func snippets(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "sdk", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range snippetPattern.FindAllStringSubmatch(string(b), -1) {
		indent, body := m[2], m[3]
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, indent)
		}
		out[m[1]] = strings.Join(lines, "\n") + "\n"
	}
	for _, name := range []string{"go.mod", "native", "wat", "assemblyscript", "descriptor"} {
		if out[name] == "" {
			t.Fatalf("sdk/README.md has no `<!-- checklist: %s -->` snippet", name)
		}
	}
	return out
}

// need returns the path of tool, skipping the test when it is missing
// outside CI (scripts/deps.sh installs it).
func need(t *testing.T, tool, hint string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if _, serr := os.Stat(tool); serr == nil {
		return tool
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: %s", tool, hint)
	}
	t.Skipf("%s not found: %s", tool, hint)
	return ""
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestChecklistNativeProvider builds the Quickstart provider as an
// outsider would: its own module, the README's go.mod with the replace
// pointed at this checkout, the SDK's go.sum, and no network.
func TestChecklistNativeProvider(t *testing.T) {
	s := snippets(t)
	dir := t.TempDir()
	sdk, err := filepath.Abs(filepath.Join(repoRoot, "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	mod := strings.Replace(s["go.mod"], "=> ../atom/sdk", "=> "+sdk, 1)
	if mod == s["go.mod"] {
		t.Fatal("the go.mod snippet has no `replace github.com/atomhq/atom/sdk => ../atom/sdk`")
	}
	write(t, filepath.Join(dir, "go.mod"), mod)
	write(t, filepath.Join(dir, "main.go"), s["native"])
	sum, err := os.ReadFile(filepath.Join(sdk, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	bin := filepath.Join(dir, "atom-provider-tracker")
	// Fill the module cache (a fresh machine may lack the SDK's own
	// versions), then build with the network off: go.sum must suffice.
	run(t, dir, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "go", "mod", "download")
	run(t, dir, []string{"GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off"}, "go", "build", "-o", bin, ".")
	// Run by hand, a plugin says what it is and exits non-zero.
	out, err := exec.Command(bin).CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "plugin") {
		t.Fatalf("running the plugin by hand: %v\n%s", err, out)
	}
}

// TestChecklistSDKModuleTidyOffline runs `go mod tidy` on the SDK module
// with the network off: its go.sum must cover the SDK's test
// dependencies too.
func TestChecklistSDKModuleTidyOffline(t *testing.T) {
	dir := t.TempDir()
	// Tidy a copy, so the checkout is never rewritten.
	cmd := exec.Command("cp", "-r", filepath.Join(repoRoot, "sdk")+"/.", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy sdk: %v\n%s", err, out)
	}
	os.RemoveAll(filepath.Join(dir, "piece", "examples", "assemblyscript", "node_modules"))
	// Fill the module cache with every module of the graph, tests'
	// included; then tidy with the network off.
	run(t, dir, []string{"GOWORK=off", "GOFLAGS="}, "go", "mod", "download", "all")
	for _, f := range []string{"go.mod", "go.sum"} { // as committed, whatever download added
		b, err := os.ReadFile(filepath.Join(repoRoot, "sdk", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, f), string(b))
	}
	run(t, dir, []string{"GOPROXY=off", "GOWORK=off", "GOFLAGS="}, "go", "mod", "tidy")
	for _, f := range []string{"go.mod", "go.sum"} {
		want, _ := os.ReadFile(filepath.Join(repoRoot, "sdk", f))
		got, _ := os.ReadFile(filepath.Join(dir, f))
		if string(want) != string(got) {
			t.Errorf("go mod tidy changes sdk/%s; run it in sdk/ and commit the result", f)
		}
	}
}

// TestChecklistWATPiece assembles the README's WebAssembly-text piece and
// runs its action in the host's runtime.
func TestChecklistWATPiece(t *testing.T) {
	s := snippets(t)
	tool := need(t, "wat2wasm", "scripts/deps.sh installs it (Debian package wabt)")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "hello-wat.wat"), s["wat"])
	run(t, dir, nil, tool, "-o", "hello-wat.wasm", "hello-wat.wat")
	greet(t, filepath.Join(dir, "hello-wat.wasm"), "hello-wat", `{"greeting":"Hello from WAT"}`)
}

// TestChecklistAssemblyScriptPiece compiles the README's AssemblyScript
// piece with the npm package assemblyscript (installed by scripts/deps.sh
// into sdk/piece/examples/assemblyscript) and runs it; then builds that
// example project itself with its npm script and runs its action.
func TestChecklistAssemblyScriptPiece(t *testing.T) {
	s := snippets(t)
	example := filepath.Join(repoRoot, "sdk", "piece", "examples", "assemblyscript")
	asc := need(t, filepath.Join(example, "node_modules", ".bin", "asc"), "scripts/deps.sh installs the npm package assemblyscript")
	need(t, "node", "scripts/deps.sh installs Node.js (Debian package nodejs)")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "assembly", "index.ts"), s["assemblyscript"])
	run(t, dir, nil, asc, "assembly/index.ts", "--runtime", "incremental", "--use", "abort=", "-O3", "-o", "hello-ts.wasm")
	greet(t, filepath.Join(dir, "hello-ts.wasm"), "hello-ts", `{"greeting":"Hello from AssemblyScript"}`)

	// The complete example, built by its own npm script into a copy.
	proj := filepath.Join(t.TempDir(), "hello-as")
	for _, f := range []string{"package.json", "asconfig.json", "assembly/index.ts"} {
		b, err := os.ReadFile(filepath.Join(example, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(proj, f), string(b))
	}
	if err := os.Symlink(filepath.Join(example, "node_modules"), filepath.Join(proj, "node_modules")); err != nil {
		t.Fatal(err)
	}
	run(t, proj, nil, "npm", "run", "--silent", "build")
	built := filepath.Join(proj, "build", "hello-as.wasm")
	greetInput(t, built, "hello-as", `{"name":"Ada"}`, `{"greeting":"Hello, Ada!"}`)
}

// TestChecklistDescriptor checks the README's descriptor as `atom catalog
// validate` does.
func TestChecklistDescriptor(t *testing.T) {
	s := snippets(t)
	d, err := catalog.CheckFile("hello-wat.yaml", []byte(s["descriptor"]))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "hello-wat" {
		t.Fatalf("descriptor id %q, want the WAT piece's id hello-wat", d.ID)
	}
}

func greet(t *testing.T, path, id, want string) {
	greetInput(t, path, id, `{}`, want)
}

// greetInput loads the module at path in a wasm runtime as the host does
// and runs its greet action with input.
func greetInput(t *testing.T, path, id, input, want string) {
	t.Helper()
	rt, err := wasm.NewRuntime(wasm.Config{CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	// The file name is the id, as in ATOM_PLUGIN_DIR.
	named := filepath.Join(t.TempDir(), id+".wasm")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, named, string(b))
	p, err := rt.Load(named)
	if err != nil {
		t.Fatalf("load %s: %v", id, err)
	}
	if m := p.Manifest(); m.ID != id || len(m.Actions) != 1 || m.Actions[0].Name != "greet" {
		t.Fatalf("manifest %+v", m)
	}
	resp, err := p.Execute(context.Background(), provider.Request{ExecutionID: "e1", TenantID: "t", Action: "greet", Input: json.RawMessage(input)}, nopHost{})
	if err != nil || resp.Failed() {
		t.Fatalf("greet: %+v %v", resp, err)
	}
	var got, exp any
	if err := json.Unmarshal(resp.Output, &got); err != nil {
		t.Fatalf("output %s: %v", resp.Output, err)
	}
	json.Unmarshal([]byte(want), &exp)
	gb, _ := json.Marshal(got)
	eb, _ := json.Marshal(exp)
	if string(gb) != string(eb) {
		t.Fatalf("output %s, want %s", gb, eb)
	}
}

// nopHost is a host with an empty store that drops logs.
type nopHost struct{}

func (nopHost) Refresh(context.Context) (provider.Credentials, error) {
	return provider.Credentials{}, nil
}
func (nopHost) StoreGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (nopHost) StorePut(context.Context, string, []byte) error         { return nil }
func (nopHost) Log(context.Context, string, string)                    {}
