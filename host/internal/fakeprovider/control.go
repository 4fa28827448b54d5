package fakeprovider

import (
	"net/http"
	"strconv"
)

// Stats is what GET /_fake/stats reports, for tests whose fake runs in
// another process.
type Stats struct {
	Refreshes           int    `json:"refreshes"`
	ReusedRefreshTokens int    `json:"reused_refresh_tokens"`
	TokenRequests       int    `json:"token_requests"`
	Authorizations      int    `json:"authorizations"`
	Revoked             int    `json:"revoked"`
	APIRequests         int    `json:"api_requests"`
	CurrentRefreshToken string `json:"current_refresh_token"`
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{CurrentRefreshToken: s.CurrentRefreshToken()}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Refreshes = s.refreshes
	st.ReusedRefreshTokens = s.reused
	st.TokenRequests = len(s.tokenReqs)
	st.Authorizations = len(s.auths)
	st.Revoked = len(s.revocations)
	st.APIRequests = len(s.apiReqs)
	return st
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// handleControl serves the failure switches over HTTP:
// fail-next-refresh?error=CODE, fail-refresh-transient?n=N, revoke-all and
// expire-access-tokens.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/_fake/fail-next-refresh":
		code := q.Get("error")
		if code == "" {
			code = "invalid_grant"
		}
		s.FailNextRefresh(code)
	case "/_fake/fail-refresh-transient":
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "n must be a non-negative integer"})
			return
		}
		s.FailRefreshTransient(n)
	case "/_fake/revoke-all":
		s.RevokeAll()
	case "/_fake/expire-access-tokens":
		s.ExpireAccessTokens()
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
