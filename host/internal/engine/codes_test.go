package engine

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
)

// codeConstants reads every Code* string constant declared in the
// packages whose errors become an execution's error code.
func codeConstants(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{".", "../connect", "../runtimes"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, _ := strconv.Unquote(lit.Value)
						out[filepath.Base(dir)+"."+name.Name] = v
					}
				}
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("found only %d code constants: %v", len(out), out)
	}
	return out
}

// TestStatusOfEveryCode: every error code the engine, connect and the
// runtimes declare has its status in the one table, and a replay
// of a record with that code answers that status.
func TestStatusOfEveryCode(t *testing.T) {
	for name, code := range codeConstants(t) {
		st, ok := statusOfCode[code]
		if !ok {
			t.Errorf("%s (%q) has no status in statusOfCode: its replay would answer 500", name, code)
			continue
		}
		if got := resultOf(&store.Execution{ID: "exe_1", ErrorCode: code}).Status; got != st {
			t.Errorf("replay of %q answers %d, want %d", code, got, st)
		}
	}
}

// TestLiveStatusEqualsReplay classifies an error of every kind failure
// handles, as a live answer, and checks the replay of its record answers
// the same status (plugin_failed and canceled replayed as 500 before).
func TestLiveStatusEqualsReplay(t *testing.T) {
	e := &Engine{cfg: Config{Timeout: time.Second}, log: slog.New(slog.DiscardHandler)}
	cases := []error{
		errInvalidResult,
		fmt.Errorf("guest: %w", runtimes.ErrPluginFailed),
		fmt.Errorf("dial: %w", runtimes.ErrUnavailable),
		context.DeadlineExceeded,
		context.Canceled,
		&outbound.RateLimitError{Tenant: "t", Provider: "p", RetryAfter: time.Second},
		&runtimes.TooLargeError{Code: runtimes.CodeUpstreamTooLarge, What: "the reply", Limit: 1},
		&runtimes.TooLargeError{Code: runtimes.CodeResultTooLarge, What: "the result", Limit: 1},
		errors.New("something else"),
	}
	for _, ce := range []*connect.Error{connect.ErrInvalidState, connect.ErrProviderNotConnected, connect.ErrNotConfigured,
		connect.ErrUnknownProvider, connect.ErrTokenExchange, connect.ErrAccessDenied, connect.ErrRefreshFailed,
		connect.ErrConnectionExpired, connect.ErrConnectionRevoked, connect.ErrInvalidInput, connect.ErrInvalidCredentials,
		connect.ErrTenantAppRequired} {
		cases = append(cases, ce)
		if ce.Status != statusOfCode[ce.Code] {
			t.Errorf("connect %s carries %d, the table says %d", ce.Code, ce.Status, statusOfCode[ce.Code])
		}
	}
	seen := map[string]bool{}
	for _, err := range cases {
		res := e.failure(&Result{ExecutionID: "exe_1"}, err)
		seen[res.Code] = true
		replay := resultOf(&store.Execution{ID: "exe_1", ErrorCode: res.Code, Error: res.Message})
		if replay.Status != res.Status {
			t.Errorf("%v: live %d %s, replay %d", err, res.Status, res.Code, replay.Status)
		}
	}
	for _, code := range []string{CodePluginFailed, CodeCanceled, CodePluginUnavailable, CodeTimeout, CodeRateLimited, CodeInternal} {
		if !seen[code] {
			t.Errorf("no case produced %s", code)
		}
	}
	if resultOf(&store.Execution{ErrorCode: CodePluginFailed}).Status != 502 || resultOf(&store.Execution{ErrorCode: CodeCanceled}).Status != 499 {
		t.Error("plugin_failed must replay 502 and canceled 499")
	}
}

// TestConnectStatusesMatchTable: every connect.Error the connect package
// builds with a code and a status (a composite literal, or one of its
// predefined errors) sets the status the one table gives that code, so a
// connection route and an execution answer a code alike.
func TestConnectStatusesMatchTable(t *testing.T) {
	consts := codeConstants(t)
	files, err := filepath.Glob("../connect/*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Error" {
				return true
			}
			var code string
			status := -1
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch kv.Key.(*ast.Ident).Name {
				case "Code":
					if id, ok := kv.Value.(*ast.Ident); ok {
						code = consts["connect."+id.Name]
					}
				case "Status":
					if b, ok := kv.Value.(*ast.BasicLit); ok && b.Kind == token.INT {
						status, _ = strconv.Atoi(b.Value)
					}
				}
			}
			if code == "" || status < 0 {
				return true // a code or status computed at run time
			}
			checked++
			if got := StatusOf(code); got != status {
				t.Errorf("%s: connect.Error{Code: %q, Status: %d}, but the table answers %q with %d", fset.Position(lit.Pos()), code, status, code, got)
			}
			return true
		})
	}
	if checked < 20 {
		t.Fatalf("checked %d connect errors; the scan no longer finds them", checked)
	}
	for _, ce := range []*connect.Error{connect.ErrInvalidState, connect.ErrProviderNotConnected, connect.ErrNotConfigured,
		connect.ErrUnknownProvider, connect.ErrTokenExchange, connect.ErrAccessDenied, connect.ErrRefreshFailed,
		connect.ErrConnectionExpired, connect.ErrConnectionRevoked, connect.ErrInvalidInput, connect.ErrInvalidCredentials,
		connect.ErrTenantAppRequired} {
		if got := StatusOf(ce.Code); got != ce.Status {
			t.Errorf("connect error %q has status %d, the table %d", ce.Code, ce.Status, got)
		}
	}
}
