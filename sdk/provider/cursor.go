package provider

import (
	"net/url"
	"strings"
)

// FollowLink checks a next-page link a caller handed back as a cursor (an
// OData "@odata.nextLink", a Link header target, a "next" URL in a body)
// and returns it when it is an absolute URL on the base URL's scheme and
// host. Any other link is a user error naming field, so a cursor can never
// steer a call, or its credentials, to another host.
func (c *HTTPClient) FollowLink(field, link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || !c.sameOrigin(u) {
		return "", UserError(field, "is not a next-page link of this API")
	}
	return u.String(), nil
}

// FollowLinkPath is FollowLink for links whose path must also lie under
// prefix (e.g. "/v1.0/"), for APIs that share a host with others.
func (c *HTTPClient) FollowLinkPath(field, link, prefix string) (string, error) {
	s, err := c.FollowLink(field, link)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(s)
	if !strings.HasPrefix(u.EscapedPath(), prefix) {
		return "", UserError(field, "is not a next-page link of this API")
	}
	return s, nil
}
