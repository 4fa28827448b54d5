package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Handler answers one request to a fake API. body is the request body,
// already read and recorded.
type Handler func(w http.ResponseWriter, r *http.Request, body []byte)

// Recorder is an httptest server standing in for a provider's API. It
// writes down every request it receives (method, escaped path, sorted
// query, the headers it was told to watch, and the body) before handing
// the request to the test's Handler, so that a test can compare the
// requests a provider sent with a golden file. Its methods are safe for
// concurrent use.
type Recorder struct {
	*httptest.Server

	headers []string
	body    BodyFormat

	mu   sync.Mutex
	seen []string
}

// RecordOption adjusts a Recorder.
type RecordOption func(*Recorder)

// BodyFormat renders a non-empty request body as the lines of a record,
// each ending in a newline.
type BodyFormat func(r *http.Request, body []byte) string

// RecordBody makes the Recorder render bodies with f instead of
// TrimmedBody.
func RecordBody(f BodyFormat) RecordOption { return func(rec *Recorder) { rec.body = f } }

// TrimmedBody records the body as one line "body <body>" with surrounding
// white space trimmed.
func TrimmedBody(_ *http.Request, body []byte) string {
	return fmt.Sprintf("body %s\n", bytes.TrimSpace(body))
}

// RawBody records the body as one line "body <body>", byte for byte.
func RawBody(_ *http.Request, body []byte) string {
	return fmt.Sprintf("body %s\n", body)
}

// CanonicalBody records a form-encoded body (Content-Type
// application/x-www-form-urlencoded) as one line "form <key>=<values>" per
// key in key order, a JSON body as "body <json>" re-encoded with sorted
// object keys, and any other body as RawBody does.
func CanonicalBody(r *http.Request, body []byte) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		form, _ := url.ParseQuery(string(body))
		var b strings.Builder
		for _, k := range sortedKeys(form) {
			fmt.Fprintf(&b, "form %s=%s\n", k, strings.Join(form[k], ","))
		}
		return b.String()
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		body, _ = json.Marshal(v)
	}
	return RawBody(r, body)
}

// NewRecorder starts a Recorder that records the named request headers
// (all values, joined by ", ", when present) and answers with h. The
// server closes when the test ends.
func NewRecorder(t testing.TB, headers []string, h Handler, opts ...RecordOption) *Recorder {
	t.Helper()
	rec := &Recorder{headers: headers, body: TrimmedBody}
	for _, opt := range opts {
		opt(rec)
	}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.record(r, body)
		h(w, r, body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *Recorder) record(r *http.Request, body []byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.EscapedPath())
	q := r.URL.Query()
	for _, k := range sortedKeys(q) {
		fmt.Fprintf(&b, "query %s=%s\n", k, strings.Join(q[k], ","))
	}
	for _, name := range rec.headers {
		if v := r.Header.Values(name); len(v) > 0 {
			fmt.Fprintf(&b, "header %s: %s\n", name, strings.Join(v, ", "))
		}
	}
	if len(body) > 0 {
		b.WriteString(rec.body(r, body))
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, b.String())
	rec.mu.Unlock()
}

// Take returns the records of the requests received since the last Take,
// separated by blank lines, and forgets them.
func (rec *Recorder) Take() []byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := strings.Join(rec.seen, "\n")
	rec.seen = nil
	return []byte(out)
}

// WriteJSON answers with status and v encoded as JSON. It sets
// Content-Type to application/json unless the handler already set one.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
