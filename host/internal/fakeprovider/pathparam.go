package fakeprovider

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// pathInfo is what withPathParam leaves in a request's context.
type pathInfo struct {
	param string
	// rawPath is the path the client sent, prefix included, which OAuth
	// 1.0a signatures cover.
	rawPath string
}

type pathKey struct{}

// withPathParam serves "/p/{value}/rest" as "/rest", keeping value as the
// request's connection parameter. Descriptors template it like a Shopify
// shop or a Zoho region: "{base}/p/{{connection.shop}}/oauth/token".
func (s *Server) withPathParam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := pathInfo{rawPath: r.URL.EscapedPath()}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/p/"); ok {
			param, path, _ := strings.Cut(rest, "/")
			allowed := s.Quirks().PathParams
			if param == "" || (len(allowed) > 0 && !slices.Contains(allowed, param)) {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "unknown " + param})
				return
			}
			info.param = param
			r = r.Clone(context.WithValue(r.Context(), pathKey{}, info))
			r.URL.Path = "/" + path
			r.URL.RawPath = ""
		} else {
			r = r.WithContext(context.WithValue(r.Context(), pathKey{}, info))
		}
		next.ServeHTTP(w, r)
	})
}

func pathOf(r *http.Request) pathInfo {
	if info, ok := r.Context().Value(pathKey{}).(pathInfo); ok {
		return info
	}
	return pathInfo{rawPath: r.URL.EscapedPath()}
}
