package outbound

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Redacted replaces the secret-bearing parts of a URL.
const Redacted = "REDACTED"

// Redact returns s with the query string, fragment and userinfo of every
// absolute URL in it (scheme://…) replaced by REDACTED. Webhook URLs,
// token endpoints and API calls carry tokens there, and Go's HTTP errors
// quote the whole URL ("Post \"https://…?token=…\": dial tcp …"), so every
// message that may hold a URL goes through Redact before it is logged or
// stored.
func Redact(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		// The scheme is the run of scheme characters before "://".
		start := i
		for start > 0 && schemeChar(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !urlEnd(rest[end]) {
			end++
		}
		b.WriteString(rest[:start])
		if start == i {
			// No scheme: not a URL; keep "://" and go on.
			b.WriteString(rest[i : i+3])
			rest = rest[i+3:]
			continue
		}
		b.WriteString(RedactURL(rest[start:end]))
		rest = rest[end:]
	}
}

// RedactURL returns one absolute URL with its userinfo, query string and
// fragment replaced by REDACTED; the scheme, host and path stay, so the
// message still says where the request went.
func RedactURL(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	scheme, rest := u[:i+3], u[i+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, tail := rest[:authEnd], rest[authEnd:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = Redacted + "@" + auth[at+1:]
	}
	if q := strings.IndexAny(tail, "?#"); q >= 0 {
		tail = tail[:q] + "?" + Redacted
	}
	return scheme + auth + tail
}

func schemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// urlEnd reports whether c ends a URL inside free text: whitespace, quotes
// and angle brackets. Commas, semicolons and parentheses may be part of a
// query, so they do not end it (the query is redacted whole).
func urlEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', '\\':
		return true
	}
	return false
}

// RedactError returns err with Redact applied to its message. errors.Is
// and errors.As still see the original chain; only Error() changes. It
// returns nil for nil.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := Redact(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// NewRedactingHandler wraps h so that every log record's message and
// string, error and stringer attributes pass through Redact.
func NewRedactingHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*redactingHandler); ok {
		return h
	}
	return &redactingHandler{h: h}
}

type redactingHandler struct{ h slog.Handler }

func (r *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.h.Enabled(ctx, l)
}

func (r *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return &redactingHandler{h: r.h.WithAttrs(red)}
}

func (r *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{h: r.h.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Redact(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, Redact(x.String()))
		case []byte:
			return slog.String(a.Key, Redact(string(x)))
		default:
			if s := fmt.Sprint(x); strings.Contains(s, "://") {
				return slog.String(a.Key, Redact(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// Clip cuts s to at most n bytes (then marks the cut with "…") on a rune
// boundary, and never inside a URL: a cut URL would lose what Redact
// needs to recognise its userinfo or query, so a URL the cut would fall
// in is left out whole.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	head := s[:cut]
	if i := strings.LastIndex(head, "://"); i >= 0 {
		end := i + 3
		for end < len(head) && !urlEnd(head[end]) {
			end++
		}
		if end == len(head) && (cut == len(s) || !urlEnd(s[cut])) {
			start := i
			for start > 0 && schemeChar(head[start-1]) {
				start--
			}
			head = head[:start]
		}
	}
	return head + "…"
}
