package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

func TestExpandTemplate(t *testing.T) {
	vars := map[string]map[string]string{
		"connection":  {"shop": "acme", "extension": "eu"},
		"credentials": {"apiKey": "k-123"},
		"metadata":    {"instance_url": "https://na1.salesforce.com", "accounts-server": "https://accounts.zoho.eu"},
	}
	cases := []struct {
		tmpl, want, missing string
	}{
		{"https://{{connection.shop}}.myshopify.com/admin", "https://acme.myshopify.com/admin", ""},
		{"Bearer {{credentials.apiKey}}", "Bearer k-123", ""},
		{"{{ metadata.instance_url }}/services", "https://na1.salesforce.com/services", ""},
		{"no templates here", "no templates here", ""},
		// Fallbacks: the first complete alternative wins.
		{"https://{{connection.hostname}}/x || https://login.salesforce.com/x", "https://login.salesforce.com/x", ""},
		{"https://accounts.zoho.{{connection.extension}}/t || {{metadata.accounts-server}}/t", "https://accounts.zoho.eu/t", ""},
		{"https://{{connection.subdomain}}.example.com", "", "connection.subdomain"},
		{"https://{{connection.a}}.x || https://{{connection.b}}.y", "", "connection.b"},
	}
	for _, tc := range cases {
		got, err := catalog.ExpandTemplate(tc.tmpl, vars)
		if tc.missing != "" {
			if !errors.Is(err, catalog.ErrMissingVariable) || !strings.Contains(err.Error(), tc.missing) {
				t.Errorf("%q: err = %v, want missing %s", tc.tmpl, err, tc.missing)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
	if _, err := catalog.ExpandTemplate("{{secrets.x}}", map[string]map[string]string{"secrets": {"x": "1"}}); err == nil {
		t.Error("unknown namespace accepted")
	}
	if _, err := catalog.ExpandTemplate("{{now:YYYY}}", vars); err == nil {
		t.Error("runtime expression left unexpanded without error")
	}
}

func TestExpandURLRefusesHostInjection(t *testing.T) {
	conn := func(k, v string) map[string]map[string]string {
		return map[string]map[string]string{"connection": {k: v}, "metadata": {k: v}}
	}
	good := []struct{ tmpl, key, value, want string }{
		{"https://{{connection.shop}}.myshopify.com", "shop", "acme-1", "https://acme-1.myshopify.com"},
		{"https://{{connection.host}}/api", "host", "tenant.example.com", "https://tenant.example.com/api"},
		{"{{metadata.instance_url}}/services", "instance_url", "https://na1.salesforce.com/", "https://na1.salesforce.com/services"},
		{"https://api.example.com/items/{{connection.id}}", "id", "a b/c", "https://api.example.com/items/a%20b%2Fc"},
	}
	for _, tc := range good {
		got, err := catalog.ExpandURL(tc.tmpl, conn(tc.key, tc.value))
		if err != nil || got != tc.want {
			t.Errorf("%q with %q = %q, %v; want %q", tc.tmpl, tc.value, got, err, tc.want)
		}
	}
	bad := []struct{ tmpl, key, value string }{
		{"https://{{connection.shop}}.myshopify.com", "shop", "evil.com/x?"},
		{"https://{{connection.shop}}.myshopify.com", "shop", "evil.com#"},
		{"https://{{connection.shop}}.myshopify.com", "shop", "user@evil.com"},
		{"{{metadata.instance_url}}/services", "instance_url", "https://user:pw@evil.com"},
		{"{{metadata.instance_url}}/services", "instance_url", "file:///etc/passwd"},
		{"{{metadata.instance_url}}/services", "instance_url", "https://evil.com/?q=1"},
	}
	for _, tc := range bad {
		if got, err := catalog.ExpandURL(tc.tmpl, conn(tc.key, tc.value)); err == nil {
			t.Errorf("%q with %q accepted: %q", tc.tmpl, tc.value, got)
		} else if strings.Contains(err.Error(), tc.value) {
			t.Errorf("error repeats the value: %v", err)
		}
	}
}

func TestConnectionParamUse(t *testing.T) {
	req, opt := catalog.ConnectionParamUse([]string{
		"https://{{connection.hostname}}/a || https://login.example.com/a",
		"https://{{connection.region}}.example.com",
	})
	if strings.Join(req, ",") != "region" || strings.Join(opt, ",") != "hostname" {
		t.Errorf("required %v optional %v", req, opt)
	}
}

// TestExpandURLHostValues checks values substituted into a host: DNS
// labels only, whatever the spelling of an attempt to break out.
func TestExpandURLHostValues(t *testing.T) {
	vars := func(v string) map[string]map[string]string {
		return map[string]map[string]string{"connection": {"shop": v, "host": v, "port": v, "id": v}}
	}
	ok := []struct{ tmpl, v, want string }{
		{"https://{{connection.shop}}.myshopify.com", "a-b", "https://a-b.myshopify.com"},
		{"https://{{connection.host}}/api", "xn--bcher-kva.example", "https://xn--bcher-kva.example/api"},
		{"https://{{connection.host}}:{{connection.port}}/api", "8443", ""},
		{"https://api.example.com:{{connection.port}}/api", "8443", "https://api.example.com:8443/api"},
	}
	for _, tc := range ok {
		got, err := catalog.ExpandURL(tc.tmpl, vars(tc.v))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q with %q accepted: %q", tc.tmpl, tc.v, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q with %q = %q, %v; want %q", tc.tmpl, tc.v, got, err, tc.want)
		}
	}
	for _, v := range []string{
		"evil.com:443", "evil.com:", "x@evil", "evil.com#", "evil.com/", "evil.com?", "%2e%2e", "evil%2ecom", "évil.com", "еvil.com",
		"evil..com", "evil.com.", ".evil.com", "-evil.com", "evil-.com", "evil com", "evil\\com", "evil.com\x00", "[::1]",
		"127.0.0.1", "10.0.0.1", "2130706433", "0x7f000001", "1.2.3.4", strings.Repeat("a", 64) + ".com",
	} {
		if got, err := catalog.ExpandURL("https://{{connection.host}}/api", vars(v)); err == nil {
			t.Errorf("host %q accepted: %q", v, got)
		}
	}
	for _, v := range []string{"0", "65536", "+1", "08", "1:2", "a"} {
		if got, err := catalog.ExpandURL("https://api.example.com:{{connection.port}}/api", vars(v)); err == nil {
			t.Errorf("port %q accepted: %q", v, got)
		}
	}
	for _, v := range []string{".", ".."} {
		if got, err := catalog.ExpandURL("https://api.example.com/items/{{connection.id}}/x", vars(v)); err == nil {
			t.Errorf("path segment %q accepted: %q", v, got)
		}
	}
}
