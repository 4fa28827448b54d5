package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/runtimes"
)

func TestSnoozeBacksOff(t *testing.T) {
	for snoozes, bound := range map[int]time.Duration{0: 500 * time.Millisecond, 3: 2 * time.Second, 50: 5 * time.Second} {
		meta, _ := json.Marshal(map[string]int{"snoozes": snoozes})
		for i := 0; i < 100; i++ {
			if d := snoozeFor(meta); d < bound/2 || d > bound {
				t.Fatalf("snoozes=%d: %s outside [%s, %s]", snoozes, d, bound/2, bound)
			}
		}
	}
	if d := snoozeFor(nil); d <= 0 || d > 500*time.Millisecond {
		t.Fatalf("no metadata: %s", d)
	}
}

func TestCheckResult(t *testing.T) {
	e := &Engine{cfg: Config{Limits: config.Limits{MaxUpstreamBody: 10}.WithDefaults()}}
	var tl *runtimes.TooLargeError
	if err := e.checkResult(runtimes.KindNative, json.RawMessage(`"0123456789"`)); err == nil || !asTooLarge(err, &tl) || tl.Code != runtimes.CodeResultTooLarge {
		t.Fatalf("a 12-byte result over a 10-byte cap: %v", err)
	}
	if err := e.checkResult(runtimes.KindPiece, json.RawMessage(`{"a":`)); err != errInvalidResult {
		t.Fatalf("invalid JSON: %v", err)
	}
	if err := e.checkResult(runtimes.KindNative, json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatalf("a small result: %v", err)
	}
}

func asTooLarge(err error, tl **runtimes.TooLargeError) bool {
	t, ok := err.(*runtimes.TooLargeError)
	*tl = t
	return ok
}

// TestStoredOutputAlone checks that an output stored without diagnostics
// is the envelope the encoder writes, byte for byte.
func TestStoredOutputAlone(t *testing.T) {
	big := make([]byte, 0, MaxStoredOutput)
	big = append(big, '"')
	for len(big) < MaxStoredOutput-len(`{"output":}`)-1 {
		big = append(big, 'x')
	}
	big = append(big, '"')
	for _, out := range []string{`null`, `{}`, `{"a": [1, 2, {"b" : "<&>"}],  "c":"\u00e9"}`, " \n\t[ 1 ,2 ]\n", `"x"`, string(big), string(big) + " ", string(big[:len(big)-1]) + `x"`,
		`{"a":`, `{"a":1} {"b":2}`, `nope`} {
		res := &Result{Output: json.RawMessage(out)}
		want, err := marshalNoEscape(envelope{Output: res.Output})
		if err != nil || len(want) > MaxStoredOutput {
			want, _ = marshalNoEscape(envelope{Truncated: true})
		}
		if got := storedOutput(res); string(got) != string(want) {
			t.Errorf("output %.40q: stored %.60q, the encoder writes %.60q", out, got, want)
		}
	}
}
