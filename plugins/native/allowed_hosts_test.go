package native_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

// TestAllowedHosts: every first-party native provider declares the hosts
// it calls, as valid patterns ("*" alone, ports and paths are not), and
// its catalog descriptor's base URL, when not templated, is one of them,
// so a base URL supplied by the host and the provider's own default agree.
// A served plugin reaches nothing else.
func TestAllowedHosts(t *testing.T) {
	cat, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	providers := natives()
	if len(providers) != 34 {
		t.Fatalf("%d providers, want 34", len(providers))
	}
	compared := 0
	for _, p := range providers {
		m := p.Manifest()
		if len(m.AllowedHosts) == 0 {
			t.Errorf("%s declares no allowed hosts", m.ID)
		}
		for _, h := range m.AllowedHosts {
			rest := strings.TrimPrefix(h, "*.")
			if rest == "" || strings.ContainsAny(rest, "*/:@ ") || !strings.Contains(rest, ".") || h != strings.ToLower(h) {
				t.Errorf("%s: allowed host %q is not a lower-case domain or *.domain", m.ID, h)
			}
		}
		if m.RawCredentials {
			t.Errorf("%s asks for raw credentials; first-party providers use placeholders", m.ID)
		}
		d, ok := cat.Get(m.ID)
		if !ok || d.API.BaseURL == "" || strings.Contains(d.API.BaseURL, "{") {
			continue
		}
		u, err := url.Parse(d.API.BaseURL)
		if err != nil {
			t.Fatalf("%s: base URL %q: %v", m.ID, d.API.BaseURL, err)
		}
		compared++
		if !matches(m.AllowedHosts, u.Hostname()) {
			t.Errorf("%s: the catalog's base URL host %s is not among its allowed hosts %v", m.ID, u.Hostname(), m.AllowedHosts)
		}
	}
	if compared < 20 {
		t.Fatalf("only %d providers have a plain base URL in the catalog to compare", compared)
	}
	t.Logf("%d providers' catalog base URLs checked", compared)
}

func matches(patterns []string, host string) bool {
	for _, p := range patterns {
		if suffix, ok := strings.CutPrefix(p, "*."); ok && strings.HasSuffix(host, "."+suffix) || p == host {
			return true
		}
	}
	return false
}
