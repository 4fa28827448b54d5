package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
)

// Error codes of the per-tenant caps.
const (
	CodeTooManyConcurrent = "too_many_concurrent"
	CodeTooManyPending    = "too_many_pending"
)

// acquire holds one of the tenant's synchronous execution slots
// (ATOM_TENANT_MAX_CONCURRENT). Over the cap it answers 429: one tenant
// cannot hold every goroutine, connection and buffer of the host while
// others wait.
func (e *Engine) acquire(tenant string) (func(), error) {
	max := e.cfg.Limits.TenantMaxConcurrent
	if !e.running.Take(tenant, max) {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyConcurrent, RetryAfter: 1,
			Message: fmt.Sprintf("this tenant already runs %d executions at once, the limit (ATOM_TENANT_MAX_CONCURRENT); retry when one finishes, or use ?async=true", max)}
	}
	return func() { e.running.Done(tenant) }, nil
}

// checkPending refuses a new asynchronous execution when the tenant
// already has ATOM_TENANT_MAX_PENDING_ASYNC waiting.
func (e *Engine) checkPending(ctx context.Context, tx store.Tx) error {
	c, ok := store.Counting(tx)
	if !ok {
		return nil
	}
	max := e.cfg.Limits.TenantMaxPendingAsync
	n, err := c.CountPendingExecutions(ctx, max)
	if err != nil {
		return err
	}
	if n >= max {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyPending, RetryAfter: 5,
			Message: fmt.Sprintf("this tenant already has %d asynchronous executions waiting, the limit (ATOM_TENANT_MAX_PENDING_ASYNC); retry when some have run", max)}
	}
	return nil
}

var errInvalidResult = errors.New("the plugin returned an output that is not JSON")

// checkResult bounds and checks what a native plugin or a piece returned
// before the host encodes it: at most ATOM_MAX_UPSTREAM_BODY bytes of
// valid JSON. (The generic runtime caps the provider's reply while
// reading it; its output may be up to 4/3 of the cap, as base64.)
func (e *Engine) checkResult(kind string, out json.RawMessage) error {
	if kind == runtimes.KindGeneric {
		return nil
	}
	if max := e.cfg.Limits.MaxUpstreamBody; int64(len(out)) > max {
		what := "the plugin's result"
		if kind == runtimes.KindPiece {
			what = "the piece's result"
		}
		return &runtimes.TooLargeError{Code: runtimes.CodeResultTooLarge, What: what, Limit: max}
	}
	if len(bytes.TrimSpace(out)) > 0 && !json.Valid(out) {
		return errInvalidResult
	}
	return nil
}

// storedOutput is the output column of res's record: the envelope, or a
// truncation note when the output is over MaxStoredOutput (checked before
// encoding, so a large output is not copied to find out). Nothing is
// HTML-escaped, so the stored size is the output's size.
func storedOutput(res *Result) []byte {
	if len(res.Output) > 0 && len(res.Diagnostics) == 0 && res.Field == "" && res.RetryAfter == 0 {
		// The envelope holds the output alone: it is written around the
		// output compacted, as the encoder would, without reflection.
		const head, tail = `{"output":`, `}`
		if len(head)+len(res.Output)+len(tail) <= MaxStoredOutput {
			b := make([]byte, 0, len(head)+len(res.Output)+len(tail))
			buf := bytes.NewBuffer(append(b, head...))
			if json.Compact(buf, res.Output) == nil {
				return append(buf.Bytes(), tail...)
			}
		}
	}
	env := envelope{Output: res.Output, Diagnostics: res.Diagnostics, Field: res.Field, RetryAfter: res.RetryAfter}
	if len(res.Output) > MaxStoredOutput {
		env = envelope{Diagnostics: res.Diagnostics, Truncated: true, Field: res.Field, RetryAfter: res.RetryAfter}
	}
	b, err := marshalNoEscape(env)
	if err != nil || len(b) > MaxStoredOutput {
		b, _ = marshalNoEscape(envelope{Truncated: true})
	}
	return b
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
