package provider

import (
	"context"
	"encoding/json"
	"net/url"
)

// ODataPage is one page of an OData collection, as Microsoft Graph,
// SharePoint and Dynamics return them: the items and the links to the
// next page (or, at the end of a delta query, the delta link).
type ODataPage struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink,omitempty"`
	DeltaLink string            `json:"@odata.deltaLink,omitempty"`
	Count     *int64            `json:"@odata.count,omitempty"`
}

// GetODataPage reads one page of an OData collection. With next empty it
// GETs path with query; otherwise next must be an "@odata.nextLink" the
// API returned earlier (checked with FollowLinkPath against the prefix of
// path's first segment, e.g. "/v1.0/"), which already carries the query,
// and field names it in the user error a foreign link becomes. Value is
// never nil.
func (c *HTTPClient) GetODataPage(ctx context.Context, path string, query url.Values, field, next string) (ODataPage, error) {
	var page ODataPage
	target := path
	if next != "" {
		link, err := c.FollowLinkPath(field, next, firstSegment(path))
		if err != nil {
			return page, err
		}
		target, query = link, nil
	}
	if err := c.GetJSON(ctx, target, query, &page); err != nil {
		return page, err
	}
	if page.Value == nil {
		page.Value = []json.RawMessage{}
	}
	return page, nil
}

// firstSegment returns "/seg/" for a path "/seg/rest", or "/" when the
// path has a single segment.
func firstSegment(path string) string {
	u, err := url.Parse(path)
	if err != nil {
		return "/"
	}
	p := u.EscapedPath()
	if len(p) == 0 || p[0] != '/' {
		p = "/" + p
	}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i+1]
		}
	}
	return "/"
}
