package provider

import (
	"net/url"
	"strings"
)

// PathSegment returns value escaped as one URL path segment, for ids and
// names from an action's input that go into a request path. An empty
// value, "." or "..", which would drop or climb path segments, is a user
// error naming field, so input can never steer a call to another endpoint.
func PathSegment(field, value string) (string, error) {
	if strings.TrimSpace(value) == "" {
		return "", UserError(field, "is required")
	}
	if value == "." || value == ".." {
		return "", UserError(field, "is not a valid identifier")
	}
	return url.PathEscape(value), nil
}

// PathSegments escapes several input values with PathSegment, given as
// field, value pairs, and returns them in order, stopping at the first
// invalid one.
func PathSegments(fieldValues ...string) ([]string, error) {
	out := make([]string, 0, len(fieldValues)/2)
	for i := 0; i+1 < len(fieldValues); i += 2 {
		s, err := PathSegment(fieldValues[i], fieldValues[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
