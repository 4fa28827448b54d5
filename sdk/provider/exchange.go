package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Exchange is Send that also returns the response's headers, for APIs
// that put pagination (Link, cursors) or rate-limit state in headers. The
// headers are returned with a non-2xx response too, beside its *HTTPError.
func (c *HTTPClient) Exchange(ctx context.Context, method, path string, query url.Values, contentType string, body []byte, out any) (http.Header, error) {
	status, header, data, req, err := c.roundTrip(ctx, method, path, query, contentType, body)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return header, c.httpError(req, &http.Response{StatusCode: status, Header: header}, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return header, fmt.Errorf("%s %s: decode response: %w", method, req.URL.Path, err)
	}
	return header, nil
}

// roundTrip sends one request and returns its status, headers and body
// (whatever the status) with the request it sent.
func (c *HTTPClient) roundTrip(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) (int, http.Header, []byte, *http.Request, error) {
	u, err := c.URL(path, query)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("provider: build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.opts.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, req, fmt.Errorf("%s %s: %w", method, req.URL.Path, scrubURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, req, fmt.Errorf("%s %s: read body: %w", method, req.URL.Path, err)
	}
	return resp.StatusCode, resp.Header, data, req, nil
}

// LinkHeader parses an RFC 8288 Link header ("<url>; rel=\"next\", ...")
// into a map from each rel (lower-cased; a link may carry several) to its
// URL. Malformed entries are skipped.
func LinkHeader(h http.Header) map[string]string {
	links := map[string]string{}
	for _, line := range h.Values("Link") {
		for _, entry := range splitLinks(line) {
			entry = strings.TrimSpace(entry)
			if !strings.HasPrefix(entry, "<") {
				continue
			}
			end := strings.Index(entry, ">")
			if end < 0 {
				continue
			}
			target := entry[1:end]
			for _, param := range strings.Split(entry[end+1:], ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if _, seen := links[strings.ToLower(rel)]; !seen {
						links[strings.ToLower(rel)] = target
					}
				}
			}
		}
	}
	return links
}

// splitLinks splits a Link header value on the commas between links,
// leaving commas inside <...> or quoted strings alone.
func splitLinks(s string) []string {
	var parts []string
	inURL, inQuote, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			if !inQuote {
				inURL = true
			}
		case '>':
			if !inQuote {
				inURL = false
			}
		case '"':
			if !inURL {
				inQuote = !inQuote
			}
		case ',':
			if !inURL && !inQuote {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// NextPageQuery returns the query of the Link header's rel="next" URL, or
// nil when there is no next page. Providers return a value from it (e.g.
// its "page" or "cursor" parameter) to the caller as the next cursor.
func NextPageQuery(h http.Header) url.Values {
	next, ok := LinkHeader(h)["next"]
	if !ok {
		return nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return nil
	}
	return u.Query()
}
