package outbound

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://hooks.example.com/in?token=s3cret":                           "https://hooks.example.com/in?REDACTED",
		"https://user:s3cret@hooks.example.com/in":                            "https://REDACTED@hooks.example.com/in",
		"https://user:s3cret@hooks.example.com":                               "https://REDACTED@hooks.example.com",
		"http://h.example/cb#access_token=s3cret":                             "http://h.example/cb?REDACTED",
		"http://h.example?x=s3cret":                                           "http://h.example?REDACTED",
		"plain text without urls":                                             "plain text without urls",
		"no scheme ://x?s3cret":                                               "no scheme ://x?s3cret",
		`Post "https://a.example/x?k=s3cret&b=1": dial tcp: refused`:          `Post "https://a.example/x?REDACTED": dial tcp: refused`,
		"two https://a.example/?a=s3cret and http://u:s3cret@b.example/p end": "two https://a.example/?REDACTED and http://REDACTED@b.example/p end",
		"comma https://a.example/?a=1,token=s3cret;x=(s3cret)":                "comma https://a.example/?REDACTED",
		"HTTPS://A.EXAMPLE/?TOKEN=s3cret":                                     "HTTPS://A.EXAMPLE/?REDACTED",
		"https://a.example/path/only":                                         "https://a.example/path/only",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(Redact(in), "s3cret") && strings.Contains(in, "://") && !strings.Contains(in, " ://") {
			t.Errorf("Redact(%q) keeps the secret", in)
		}
	}
}

func TestRedactErrorKeepsChain(t *testing.T) {
	base := &RateLimitError{Provider: "p"}
	err := RedactError(fmt.Errorf("call https://x.example/?key=s3cret: %w", base))
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("secret kept: %v", err)
	}
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
		t.Fatal("the redacted error lost its chain")
	}
	plain := errors.New("nothing to hide")
	if RedactError(plain) != plain || RedactError(nil) != nil {
		t.Fatal("an error without URLs must be returned as is")
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil))).
		With("base", "https://u:s3cret@with.example/")
	req, _ := http.NewRequest("POST", "https://hooks.example/x?token=s3cret", nil)
	_, err := (&http.Client{Timeout: time.Nanosecond}).Do(req)
	log.WithGroup("g").Error("post https://m.example/?sig=s3cret failed",
		"err", err, "url", "https://a.example/?t=s3cret", "stringer", stringer{"https://s.example/?t=s3cret"},
		"bytes", []byte("https://b.example/?t=s3cret"), "map", map[string]string{"u": "https://c.example/?t=s3cret"},
		slog.Group("grp", "inner", "https://d.example/?t=s3cret"), "n", 3)
	out := buf.String()
	if strings.Contains(out, "s3cret") {
		t.Fatalf("log line keeps a secret: %s", out)
	}
	for _, want := range []string{"hooks.example/x?REDACTED", "a.example/?REDACTED", `"n":3`, "REDACTED@with.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q: %s", want, out)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("a", 20)
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{long, 10, "aaaaaaaaaa…"},
		// A cut never splits a rune.
		{"ééééé", 5, "éé…"},
		// A URL the cut would fall in is left out whole, userinfo and all.
		{"failed: https://user:secret@api.example/x?token=abc then", 30, "failed: …"},
		{"see https://api.example/x done and more text", 30, "see https://api.example/x done…"},
		// A URL ending exactly at the cut is kept.
		{"at https://api.example/x more", 24, "at https://api.example/x…"},
	} {
		got := Clip(c.in, c.n)
		if got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if len(got) > c.n+len("…") {
			t.Errorf("Clip(%q, %d) is %d bytes", c.in, c.n, len(got))
		}
	}
}
