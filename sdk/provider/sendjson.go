package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// SendJSON is Send with a JSON body: in is encoded as the request body
// with Content-Type application/json, or no body is sent when in is nil.
// A 2xx JSON response is decoded into out (ignored when nil).
func (c *HTTPClient) SendJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.ExchangeJSON(ctx, method, path, query, in, out)
	return err
}

// ExchangeJSON is SendJSON that also returns the response's headers, as
// Exchange does.
func (c *HTTPClient) ExchangeJSON(ctx context.Context, method, path string, query url.Values, in, out any) (http.Header, error) {
	var body []byte
	contentType := ""
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("provider: encode body: %w", err)
		}
		contentType = "application/json"
	}
	return c.Exchange(ctx, method, path, query, contentType, body, out)
}
