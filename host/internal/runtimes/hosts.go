package runtimes

import (
	"net"
	"net/url"
	"strings"
)

// MatchHost matches a lower-case host against a declared host pattern: an
// exact host, or "*.domain" (any subdomain of domain, not domain itself).
func MatchHost(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return pattern == host
}

// ListsHost reports whether list (an operator's private-host allow-list)
// names u's host, as "name" or "name:port", the port defaulting from the
// scheme.
func ListsHost(list []string, u *url.URL) bool {
	if len(list) == 0 {
		return false
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	hostport := strings.ToLower(net.JoinHostPort(host, port))
	for _, h := range list {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == host || h == hostport || h == "["+host+"]" {
			return true
		}
	}
	return false
}
