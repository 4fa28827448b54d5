package jspiece

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	surveyOnce sync.Once
	surveyPath string
	surveyErr  error
)

// surveyPieces returns bin/jspieces-survey, installing every package of
// testdata/survey/package.json through scripts/jspieces-survey.sh.
func surveyPieces(t testing.TB) string {
	t.Helper()
	surveyOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
		out, err := exec.Command(filepath.Join(root, "scripts", "jspieces-survey.sh")).CombinedOutput()
		if err != nil {
			surveyErr = fmt.Errorf("%v: %s", err, out)
			return
		}
		surveyPath = filepath.Join(root, "bin", "jspieces-survey")
	})
	if surveyErr != nil {
		t.Fatalf("installing the survey packages: %v", surveyErr)
	}
	return surveyPath
}

// surveyPackages lists the piece packages of the survey, sorted.
func surveyPackages(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/survey/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pj struct{ Dependencies map[string]string }
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range pj.Dependencies {
		if strings.HasPrefix(k, "@activepieces/piece-") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// rawTCP names the pieces that speak a wire protocol over a socket (their
// bundles carry the driver): out of the runtime's scope, which offers
// fetch, not net.Socket.
var rawTCP = map[string]string{
	"mysql":           "mysql2",
	"mongodb":         "mongodb driver",
	"oracle-database": "oracledb",
	"postgres":        "pg",
	// gRPC over HTTP/2 with .proto files read from disk at load.
	"clarifai": "gRPC (@grpc/grpc-js)",
}

// surveyRow is one package of the survey.
type surveyRow struct {
	Pkg, Version, Framework string
	Actions, Triggers       int
	// Polling, Webhook and App count the triggers by kind; Other names
	// triggers of no known kind.
	Polling, Webhook, App     int
	Other                     []string
	Bundle                    int
	BundleTime, LoadTime      time.Duration
	Stage, Reason, OutOfScope string
	Err                       error
}

// TestSurvey bundles and loads every @activepieces/piece-* package the
// registry serves (testdata/survey/package.json) and prints the table
// BENCHMARKS.md reports: actions and triggers of each that loads, the
// stage and reason of each that does not. It asserts nothing about time.
//
//	ATOM_JSPIECE_SURVEY=1 go test ./host/internal/runtimes/jspiece -run Survey -v
func TestSurvey(t *testing.T) {
	if os.Getenv("ATOM_JSPIECE_SURVEY") == "" {
		t.Skip("set ATOM_JSPIECE_SURVEY=1 to survey every published piece (installs them into bin/jspieces-survey)")
	}
	dir := surveyPieces(t)
	r := newRuntime(t, Config{})
	only := os.Getenv("ATOM_JSPIECE_SURVEY_ONLY")
	var rows []surveyRow
	for _, pkg := range surveyPackages(t) {
		if only != "" && !strings.Contains(","+only+",", ","+PieceID(pkg)+",") {
			continue
		}
		rows = append(rows, surveyOne(r, dir, pkg))
		row := rows[len(rows)-1]
		t.Logf("%s@%s: actions %d triggers %d bundle %d B in %s load %s %s %s", row.Pkg, row.Version, row.Actions, row.Triggers,
			row.Bundle, row.BundleTime.Round(time.Millisecond), row.LoadTime.Round(time.Millisecond), row.Stage, row.Reason)
		if row.Err != nil && testing.Verbose() {
			t.Logf("%s: %v", row.Pkg, row.Err)
		}
	}
	var loaded, actions, triggers, outOfScope, polling, webhook, app int
	var other []string
	var md strings.Builder
	md.WriteString("| package | version | framework | actions | triggers (polling/webhook/app) | bundle KB | load s | result |\n|---|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		res := "loads"
		switch {
		case row.Stage == "":
			loaded++
			actions += row.Actions
			triggers += row.Triggers
			polling, webhook, app = polling+row.Polling, webhook+row.Webhook, app+row.App
			other = append(other, row.Other...)
		case row.OutOfScope != "":
			outOfScope++
			res = fmt.Sprintf("out of scope (%s over a raw socket): %s fails: %s", row.OutOfScope, row.Stage, row.Reason)
		default:
			res = fmt.Sprintf("%s fails: %s", row.Stage, row.Reason)
		}
		trigs := fmt.Sprint(row.Triggers)
		if row.Triggers > 0 {
			trigs = fmt.Sprintf("%d (%d/%d/%d)", row.Triggers, row.Polling, row.Webhook, row.App)
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %d | %s | %d | %.2f | %s |\n", PieceID(row.Pkg), row.Version, row.Framework,
			row.Actions, trigs, row.Bundle/1000, row.LoadTime.Seconds(), strings.ReplaceAll(res, "|", "\\|"))
	}
	fmt.Fprintf(&md, "\n%d packages: %d load (%d actions, %d triggers), %d fail, %d of them out of scope.\n",
		len(rows), loaded, actions, triggers, len(rows)-loaded, outOfScope)
	fmt.Fprintf(&md, "Triggers of the pieces that load: %d polling, %d webhook, %d app webhook, %d of no known kind %v.\n",
		polling, webhook, app, len(other), other)
	t.Log("\n" + md.String())
	if out := os.Getenv("ATOM_JSPIECE_SURVEY_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func surveyOne(r *Runtime, dir, pkg string) (row surveyRow) {
	row.Pkg = pkg
	var pj struct {
		Version          string
		Dependencies     map[string]string
		PeerDependencies map[string]string
	}
	if b, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json")); err == nil {
		_ = json.Unmarshal(b, &pj)
	}
	if pj.Dependencies == nil {
		pj.Dependencies = map[string]string{}
	}
	for k, v := range pj.PeerDependencies {
		if pj.Dependencies[k] == "" {
			pj.Dependencies[k] = v
		}
	}
	row.Version = pj.Version
	switch {
	case pj.Dependencies["@activepieces/pieces-framework"] != "":
		row.Framework = "pieces-framework " + pj.Dependencies["@activepieces/pieces-framework"]
	case pj.Dependencies["@activepieces/framework"] != "":
		row.Framework = "framework " + pj.Dependencies["@activepieces/framework"]
	}
	row.OutOfScope = rawTCP[PieceID(pkg)]
	start := time.Now()
	src, err := Bundle(dir, pkg)
	row.BundleTime = time.Since(start)
	if err != nil {
		row.Stage, row.Reason, row.Err = "bundle", shortReason(err), err
		return row
	}
	row.Bundle = len(src)
	start = time.Now()
	p, err := r.Load(context.Background(), Artifact{ID: PieceID(pkg), Package: pkg, Version: pj.Version, Source: src})
	row.LoadTime = time.Since(start)
	if err != nil {
		row.Stage, row.Reason, row.Err = "load", shortReason(err), err
		return row
	}
	defer p.Close()
	row.Actions, row.Triggers = len(p.Spec().Actions), len(p.Spec().Triggers)
	for _, tr := range p.Spec().Triggers {
		switch {
		case triggerKind(tr.Type) == "polling":
			row.Polling++
		case triggerKind(tr.Type) == "webhook":
			row.Webhook++
		case tr.Type == "APP_WEBHOOK":
			row.App++
		default:
			row.Other = append(row.Other, fmt.Sprintf("%s/%s (%q)", PieceID(pkg), tr.Name, tr.Type))
		}
	}
	return row
}

// shortReason keeps the first line of an error, without the package name
// the table already shows.
func shortReason(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 300)
}
