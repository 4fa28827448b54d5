package provider

import "context"

// ClientWithBase is Client for an API whose host depends on the
// connection (an org's instance URL, a shop's domain, a data center):
// when the request carries no base URL, base is called and a non-empty
// result replaces opts.BaseURL; an error from base is returned as is.
// When the host sent a base URL, base is not called.
func ClientWithBase(ctx context.Context, opts HTTPOptions, base func() (string, error)) (*HTTPClient, error) {
	if req, ok := RequestFrom(ctx); !ok || req.BaseURL == "" {
		u, err := base()
		if err != nil {
			return nil, err
		}
		if u != "" {
			opts.BaseURL = u
		}
	}
	return Client(ctx, opts), nil
}
