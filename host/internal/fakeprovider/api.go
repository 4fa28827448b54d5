package fakeprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// caller is who made a call to the protected API.
type caller struct {
	auth, token, subject, kind, scope string
	// o1err is why an OAuth 1.0a call was refused; it is answered as
	// plain text, as Trello does.
	o1err error
}

// apiCaller authenticates an API call by bearer token, OAuth 1.0a
// signature or Trello's key and token query parameters.
func (s *Server) apiCaller(r *http.Request) (caller, bool) {
	h := r.Header.Get("Authorization")
	switch {
	case len(h) > 7 && strings.EqualFold(h[:7], "Bearer "):
		tok := strings.TrimSpace(h[7:])
		s.mu.Lock()
		defer s.mu.Unlock()
		a, ok := s.access[tok]
		if !ok || a.revoked || (!a.expiresAt.IsZero() && !time.Now().Before(a.expiresAt)) {
			return caller{token: tok}, false
		}
		return caller{auth: "bearer", token: tok, subject: a.subject, kind: a.kind, scope: a.scope}, true
	case len(h) > 6 && strings.EqualFold(h[:6], "OAuth "):
		p, err := readOAuth1(r)
		if err == nil {
			err = s.verifyOAuth1(r, p, s.o1AccessSecret)
		}
		tok := p.oauth["oauth_token"]
		if err != nil {
			return caller{token: tok, o1err: err}, false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return caller{auth: "oauth1", token: tok, subject: s.o1.tokens[tok].subject, kind: "oauth1"}, true
	}
	if q := r.URL.Query(); q.Get("key") != "" && q.Get("token") != "" {
		tok := q.Get("token")
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.o1.tokens[tok]
		if !ok || t.revoked || !equal(q.Get("key"), s.ClientID) {
			return caller{token: tok}, false
		}
		return caller{auth: "trello", token: tok, subject: t.subject, kind: "oauth1"}, true
	}
	return caller{}, false
}

// authed wraps an API handler with authentication and request recording.
func (s *Server) authed(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, ok := s.apiCaller(r)
	status := http.StatusOK
	if !ok {
		status = http.StatusUnauthorized
		if errors.Is(c.o1err, errO1Missing) {
			status = http.StatusBadRequest
		}
		c.auth = ""
	}
	s.mu.Lock()
	s.apiReqs = append(s.apiReqs, APIRequest{Method: r.Method, Path: r.URL.Path, Auth: c.auth, Token: c.token, Status: status, PathParam: pathOf(r).param})
	s.mu.Unlock()
	switch {
	case !ok && c.o1err != nil:
		o1Error(w, c.o1err)
	case !ok:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
	}
	return c, ok
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authed(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"id":         c.subject,
		"name":       "Fake User " + strings.TrimPrefix(c.subject, "usr_"),
		"token_kind": c.kind,
		"scope":      c.scope,
	})
}

func (s *Server) handleItems(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authed(w, r); !ok {
		return
	}
	q := s.Quirks()
	writeItems(w, r, q.PageSize, q.Items)
}

// writeItems answers one page of a list of total items, per items a page.
func writeItems(w http.ResponseWriter, r *http.Request, per, total int) {
	if per <= 0 {
		per = 2
	}
	if total <= 0 {
		total = 5
	}
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "page must be a positive integer"})
			return
		}
		page = n
	}
	items := []map[string]string{}
	for i := (page-1)*per + 1; i <= page*per && i <= total; i++ {
		items = append(items, map[string]string{"id": fmt.Sprintf("item_%d", i), "name": fmt.Sprintf("Item %d", i)})
	}
	var next any
	if page*per < total {
		next = page + 1
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "page": page, "per_page": per, "total": total, "next_page": next})
}

func (s *Server) handleEcho(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authed(w, r); !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_json"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *Server) handleKeyCheck(w http.ResponseWriter, r *http.Request) {
	q := s.Quirks()
	how, key := "", ""
	if q.APIKeyHeader == "" {
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
			how, key = "header", strings.TrimSpace(h[7:])
		}
	} else if v := r.Header.Get(q.APIKeyHeader); v != "" {
		how, key = "header", v
	}
	if key == "" && q.APIKeyQuery != "" {
		if v := r.URL.Query().Get(q.APIKeyQuery); v != "" {
			how, key = "query", v
		}
	}
	if key == "" {
		// Stripe style: the key is the Basic user name, the password empty
		// or anything.
		if u, _, ok := r.BasicAuth(); ok {
			how, key = "basic", u
		}
	}
	ok := key != "" && equal(key, s.APIKey)
	rec := APIRequest{Method: r.Method, Path: r.URL.Path, Token: key, Status: http.StatusOK, PathParam: pathOf(r).param}
	if ok {
		rec.Auth = "api_key"
	} else {
		rec.Status = http.StatusUnauthorized
	}
	s.mu.Lock()
	s.apiReqs = append(s.apiReqs, rec)
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Invalid API key"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "via": how})
}
