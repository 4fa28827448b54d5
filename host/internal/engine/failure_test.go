package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// TestFailedActionTable classifies a failed action by what the outbound
// client saw, not by what the plugin's diagnostic claims, and checks the
// replay of its record answers the same status, code, field and
// Retry-After.
func TestFailedActionTable(t *testing.T) {
	e := &Engine{cfg: Config{Timeout: time.Second}, log: slog.New(slog.DiscardHandler)}
	answer := func(status int) outbound.Seen { return outbound.Seen{Kind: outbound.SeenAnswer, Status: status} }
	cases := []struct {
		name       string
		seen       outbound.Seen
		diag       provider.Diagnostic
		status     int
		code       string
		field      string
		retryAfter int
	}{
		{"401", answer(401), provider.Diagnostic{Summary: "bad key"}, 424, CodeConnectionRejected, "", 0},
		{"403 invalid_token", outbound.Seen{Kind: outbound.SeenAnswer, Status: 403, TokenInvalid: true}, provider.Diagnostic{}, 424, CodeConnectionRejected, "", 0},
		{"403", answer(403), provider.Diagnostic{Summary: "plan"}, 422, CodeActionFailed, "", 0},
		{"429 Retry-After 2", outbound.Seen{Kind: outbound.SeenAnswer, Status: 429, RetryAfter: 2 * time.Second}, provider.Diagnostic{}, 429, CodeRateLimited, "", 2},
		{"429 without Retry-After", answer(429), provider.Diagnostic{}, 429, CodeRateLimited, "", 1},
		{"host limit", outbound.Seen{Kind: outbound.SeenRateLimited, RetryAfter: 2500 * time.Millisecond}, provider.Diagnostic{}, 429, CodeRateLimited, "", 3},
		{"500", answer(500), provider.Diagnostic{}, 502, CodeUpstreamError, "", 0},
		{"503", answer(503), provider.Diagnostic{}, 502, CodeUpstreamError, "", 0},
		{"unreachable", outbound.Seen{Kind: outbound.SeenUnreachable}, provider.Diagnostic{}, 502, CodeUpstreamError, "", 0},
		{"timeout", outbound.Seen{Kind: outbound.SeenTimeout}, provider.Diagnostic{}, 504, CodeTimeout, "", 0},
		{"validation", answer(400), provider.Diagnostic{Summary: "Invalid integer", Field: "amount", Status: 400}, 422, CodeActionFailed, "amount", 0},
		{"success then own failure", answer(200), provider.Diagnostic{Summary: "no match"}, 422, CodeActionFailed, "", 0},
		// A plugin's claim alone classifies nothing: the host saw no 401.
		{"claimed 401", outbound.Seen{}, provider.Diagnostic{Summary: "x", Status: 401}, 422, CodeActionFailed, "", 0},
		{"claimed 429", answer(200), provider.Diagnostic{Summary: "x", Status: 429}, 422, CodeActionFailed, "", 0},
	}
	for _, c := range cases {
		c.diag.Severity = provider.SeverityError
		res := e.failedAction(context.Background(), &Result{ExecutionID: "exe_1", Diagnostics: []provider.Diagnostic{c.diag}}, c.seen, nil, "")
		if res.Status != c.status || res.Code != c.code || res.Field != c.field || res.RetryAfter != c.retryAfter {
			t.Errorf("%s: %d %s field %q retry %d, want %d %s field %q retry %d", c.name, res.Status, res.Code, res.Field, res.RetryAfter,
				c.status, c.code, c.field, c.retryAfter)
		}
		replay := resultOf(&store.Execution{ID: "exe_1", ErrorCode: res.Code, Error: res.Message, Output: storedOutput(res)})
		if replay.Status != res.Status || replay.Field != res.Field || replay.RetryAfter != res.RetryAfter {
			t.Errorf("%s: replay %d field %q retry %d, live %d field %q retry %d", c.name, replay.Status, replay.Field, replay.RetryAfter,
				res.Status, res.Field, res.RetryAfter)
		}
	}
}

// rejecter records the connections marked for re-auth.
type rejecter struct{ marked []string }

func (r *rejecter) Credentials(context.Context, string, string, string) (provider.Credentials, *store.Connection, error) {
	return provider.Credentials{}, nil, nil
}

func (r *rejecter) ForceRefresh(context.Context, string, string) (provider.Credentials, error) {
	return provider.Credentials{}, nil
}

func (r *rejecter) MarkRejected(_ context.Context, tenant, conn, _ string) error {
	r.marked = append(r.marked, tenant+"/"+conn)
	return nil
}

// TestReauthOnlyWhenTokenInvalid: a connection is marked for re-auth
// after invalid_token, or a 401 after a refresh that renewed it, from the
// provider's API host; not after a plain 401 or 403, nor after an answer
// of another host.
func TestReauthOnlyWhenTokenInvalid(t *testing.T) {
	for _, c := range []struct {
		name    string
		seen    outbound.Seen
		renewed bool
		mark    bool
	}{
		{"401", outbound.Seen{Kind: outbound.SeenAnswer, Status: 401}, false, false},
		{"403", outbound.Seen{Kind: outbound.SeenAnswer, Status: 403}, false, false},
		{"401 invalid_token", outbound.Seen{Kind: outbound.SeenAnswer, Status: 401, TokenInvalid: true}, false, true},
		{"403 invalid_token", outbound.Seen{Kind: outbound.SeenAnswer, Status: 403, TokenInvalid: true}, false, true},
		{"401 after a refresh", outbound.Seen{Kind: outbound.SeenAnswer, Status: 401}, true, true},
		{"500 after a refresh", outbound.Seen{Kind: outbound.SeenAnswer, Status: 500}, true, false},
	} {
		for _, other := range []bool{false, true} {
			r := &rejecter{}
			e := &Engine{cfg: Config{Timeout: time.Second, Credentials: r}, log: slog.New(slog.DiscardHandler)}
			h := &execHost{e: e, tenant: "ten_1", connID: "con_1"}
			h.renewed.Store(c.renewed)
			c.seen.Host = "api.example.com"
			if other {
				// An answer of another host the plugin may reach.
				c.seen.Host = "evil.example.net"
			}
			e.failedAction(context.Background(), &Result{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: "x"}}}, c.seen, h, "https://api.example.com/v1")
			if got := len(r.marked) == 1; got != (c.mark && !other) {
				t.Errorf("%s (other host %v): marked %v", c.name, other, r.marked)
			}
		}
	}
}

// TestFailedActionAfterDeadline: an action that reports failure once its
// execution's deadline has passed answers 504 timeout, whatever the
// record saw last (a plugin's request ends on the plugin's side).
func TestFailedActionAfterDeadline(t *testing.T) {
	e := &Engine{cfg: Config{Timeout: time.Second}, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	res := e.failedAction(ctx, &Result{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: "context deadline exceeded"}}},
		outbound.Seen{}, nil, "")
	if res.Status != 504 || res.Code != CodeTimeout {
		t.Fatalf("%d %s", res.Status, res.Code)
	}
}

// TestFailureTextBounded: a plugin's failure text of any length — an
// action's summary, a field, a Go error — reaches the answer, the replay
// and the record bounded, and a field too long to name a parameter is
// dropped.
func TestFailureTextBounded(t *testing.T) {
	e := &Engine{cfg: Config{Timeout: time.Second}, log: slog.New(slog.DiscardHandler)}
	huge := strings.Repeat("é", 50000)
	res := e.failedAction(context.Background(), &Result{ExecutionID: "exe_1", Diagnostics: []provider.Diagnostic{
		{Severity: provider.SeverityError, Summary: huge, Field: strings.Repeat("f", 300)}}},
		outbound.Seen{Kind: outbound.SeenAnswer, Status: 400}, nil, "")
	if res.Code != CodeActionFailed || len(res.Message) > maxErrorMessage+len("…") || !strings.HasPrefix(huge, strings.TrimSuffix(res.Message, "…")) || res.Field != "" {
		t.Fatalf("%s: message of %d bytes, field %q", res.Code, len(res.Message), res.Field)
	}
	replay := resultOf(&store.Execution{ID: "exe_1", ErrorCode: res.Code, Error: res.Message, Output: storedOutput(res)})
	if replay.Status != res.Status || replay.Field != res.Field {
		t.Fatalf("replay %d field %q, live %d field %q", replay.Status, replay.Field, res.Status, res.Field)
	}
	for _, err := range []error{
		errors.New(huge),
		fmt.Errorf("guest: %w: %s", runtimes.ErrPluginFailed, huge),
	} {
		res := e.failure(&Result{ExecutionID: "exe_2"}, err)
		if len(res.Message) > maxErrorMessage+len("…") || res.Code == "" {
			t.Fatalf("%s: message of %d bytes", res.Code, len(res.Message))
		}
	}
}
