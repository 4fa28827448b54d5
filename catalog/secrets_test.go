package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

// TestShippedSecretHosts walks every shipped descriptor: a variable that
// chooses the host of a URL carrying a host-wide secret must be limited
// to allowed values or declared as needing the tenant's own app or key.
func TestShippedSecretHosts(t *testing.T) {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var urls, templated, constrained, declared int
	for _, d := range c.All() {
		for _, p := range catalog.SecretHostProblems(d) {
			t.Error(p)
		}
		for _, su := range catalog.SecretURLs(d) {
			urls++
			vars := catalog.HostVars(su.Template)
			if len(vars) > 0 {
				templated++
			}
			for _, v := range vars {
				if len(d.Auth.AllowedValues(v)) > 0 {
					constrained++
				} else {
					declared++
				}
			}
		}
	}
	if c.Len() < 1400 {
		t.Fatalf("only %d descriptors walked", c.Len())
	}
	t.Logf("%d descriptors, %d secret-bearing URLs, %d with a templated host: %d host variables limited to allowed values, %d declared tenant-chosen",
		c.Len(), urls, templated, constrained, declared)
}

func TestSecretHostProblems(t *testing.T) {
	base := func() *catalog.Descriptor {
		return &catalog.Descriptor{ID: "x", Auth: catalog.Auth{Kind: catalog.AuthOAuth2,
			AuthorizationURL: "https://{{connection.shop}}.example.com/authorize",
			TokenURL:         "https://{{connection.shop}}.example.com/token"},
			API: catalog.API{BaseURL: "https://{{connection.shop}}.example.com"}}
	}
	cases := []struct {
		name   string
		mutate func(d *catalog.Descriptor)
		want   []string // substrings of the problems, in order
	}{
		{"free token host", nil, []string{"auth.token_url: connection.shop"}},
		{"declared", func(d *catalog.Descriptor) { d.Auth.TenantChosenHosts = []string{"connection.shop"} }, nil},
		{"allowed values", func(d *catalog.Descriptor) {
			d.Auth.ConnectionParamOptions = map[string][]string{"shop": {"a", "b"}}
		}, nil},
		{"refresh and revocation too", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://fixed.example.com/token"
			d.Auth.RefreshURL = "{{metadata.server}}/refresh"
			d.Auth.RevocationURL = "https://fixed.example.com:{{connection.port}}/revoke"
		}, []string{"auth.refresh_url: metadata.server", "auth.revocation_url: connection.port"}},
		{"only the host counts", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://fixed.example.com/{{connection.shop}}/token?x={{connection.shop}}"
		}, nil},
		{"every alternative", func(d *catalog.Descriptor) {
			d.Auth.ConnectionParamOptions = map[string][]string{"ext": {"com", "eu"}}
			d.Auth.TokenURL = "https://accounts.example.{{connection.ext}}/t || {{metadata.accounts-server}}/t"
		}, []string{"auth.token_url: metadata.accounts-server"}},
		{"metadata allowed values", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "{{metadata.accounts-server}}/t"
			d.Auth.MetadataOptions = map[string][]string{"accounts-server": {"https://accounts.example.com"}}
		}, nil},
		{"api key base URL", func(d *catalog.Descriptor) {
			d.Auth = catalog.Auth{Kind: catalog.AuthAPIKey}
			d.API.BaseURL = "https://{{credentials.domain}}/api"
		}, []string{"api.base_url: credentials.domain"}},
		{"oauth base URL carries the tenant's token only", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://fixed.example.com/token"
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			if tc.mutate != nil {
				tc.mutate(d)
			}
			got := catalog.SecretHostProblems(d)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q, want it to name %q", got[i], w)
				}
			}
			if len(tc.want) == 0 && len(catalog.TenantChosenHostVars(d)) != len(d.Auth.TenantChosenHosts) {
				t.Errorf("TenantChosenHostVars %v, declared %v", catalog.TenantChosenHostVars(d), d.Auth.TenantChosenHosts)
			}
		})
	}
}

// TestExpandSecretURL is the rule at run time: with an operator secret
// on the request, a host comes from the template or from an allowed value,
// whatever the spelling of the tenant's value.
func TestExpandSecretURL(t *testing.T) {
	a := &catalog.Auth{
		ConnectionParamOptions: map[string][]string{"ext": {"com", "eu", "com.au"}},
		MetadataOptions:        map[string][]string{"accounts-server": {"https://accounts.zoho.com", "https://accounts.zoho.eu"}},
	}
	tmpl := "https://accounts.zoho.{{connection.ext}}/oauth/v2/token || {{metadata.accounts-server}}/oauth/v2/token"
	vars := func(ns, k, v string) map[string]map[string]string {
		return map[string]map[string]string{ns: {k: v}}
	}
	good := []struct{ ns, k, v, want string }{
		{"connection", "ext", "eu", "https://accounts.zoho.eu/oauth/v2/token"},
		{"connection", "ext", "com.au", "https://accounts.zoho.com.au/oauth/v2/token"},
		{"metadata", "accounts-server", "https://accounts.zoho.eu", "https://accounts.zoho.eu/oauth/v2/token"},
		{"metadata", "accounts-server", "https://accounts.zoho.eu/", "https://accounts.zoho.eu/oauth/v2/token"},
	}
	for _, tc := range good {
		got, err := catalog.ExpandSecretURL(tmpl, vars(tc.ns, tc.k, tc.v), a.AllowedValues)
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q, %v; want %q", tc.k, tc.v, got, err, tc.want)
		}
	}
	evil := []string{
		"evil.com", "evil.com#", "evil.com/", "x@evil", "evil.com:443", "eu:443", "eu.evil.com", "eu@evil.com",
		"%2e", "eu%2eevil.com", "éu", "еu", "xn--u-ceb", "127.0.0.1", "[::1]", "2130706433", "0x7f000001",
		"EU", " eu", "eu ", "eu.", "..", "eu/..", "eu\\@evil.com", "eu\x00", "",
	}
	for _, v := range evil {
		if v == "" {
			continue
		}
		got, err := catalog.ExpandSecretURL(tmpl, vars("connection", "ext", v), a.AllowedValues)
		if !errors.Is(err, catalog.ErrTenantChosenHost) {
			t.Errorf("ext=%q: %q, %v; want ErrTenantChosenHost", v, got, err)
		}
		if err != nil && strings.Contains(err.Error(), v) && len(v) > 2 {
			t.Errorf("error repeats the value: %v", err)
		}
	}
	evilServers := []string{
		"https://evil.com", "https://accounts.zoho.eu.evil.com", "https://accounts.zoho.eu@evil.com",
		"https://accounts.zoho.eu:443", "https://accounts.zoho.eu#", "https://accounts.zoho.eu?x=", "https://accounts.zoho.eu/x",
		"https://accounts.zoho.eu%2eevil.com", "https://accounts.zoho.еu", "http://accounts.zoho.eu", "HTTPS://accounts.zoho.eu",
		"https://ACCOUNTS.zoho.eu", "//accounts.zoho.eu", "accounts.zoho.eu", "https://accounts.zoho.eu//", "https://127.0.0.1",
	}
	for _, v := range evilServers {
		got, err := catalog.ExpandSecretURL(tmpl, vars("metadata", "accounts-server", v), a.AllowedValues)
		if !errors.Is(err, catalog.ErrTenantChosenHost) {
			t.Errorf("accounts-server=%q: %q, %v; want ErrTenantChosenHost", v, got, err)
		}
	}
	// Credentials have no allowed values; nil allows nothing.
	if _, err := catalog.ExpandSecretURL("https://{{credentials.domain}}/api", vars("credentials", "domain", "api.example.com"), a.AllowedValues); !errors.Is(err, catalog.ErrTenantChosenHost) {
		t.Errorf("credentials host: %v", err)
	}
	if _, err := catalog.ExpandSecretURL("https://{{connection.ext}}.example.com", vars("connection", "ext", "eu"), nil); !errors.Is(err, catalog.ErrTenantChosenHost) {
		t.Errorf("nil allowed: %v", err)
	}
	// Values outside the host are escaped, not refused.
	got, err := catalog.ExpandSecretURL("https://fixed.example.com/t/{{connection.tenant}}?q={{connection.tenant}}", vars("connection", "tenant", "a/b@evil.com#"), nil)
	if err != nil || got != "https://fixed.example.com/t/a%2Fb@evil.com%23?q=a%2Fb%40evil.com%23" {
		t.Errorf("path and query values: %q, %v", got, err)
	}
	var he *catalog.HostError
	if _, err := catalog.ExpandSecretURL(tmpl, vars("connection", "ext", "evil.com"), a.AllowedValues); !errors.As(err, &he) || he.Var.String() != "connection.ext" {
		t.Errorf("HostError: %v", err)
	}
}

func TestValidateSecretHostFields(t *testing.T) {
	doc := func(auth string) []byte {
		return []byte(`{"id":"x","name":"X","categories":["crm"],"auth":{"kind":"oauth2",` + auth + `},"api":{},"connectable":false,"not_connectable_reason":"test"}`)
	}
	good := `"redirect_metadata":["accounts-server"],"metadata_options":{"accounts-server":["https://a.test"]},"tenant_chosen_hosts":["connection.shop"]`
	if _, err := catalog.DecodeDescriptor("x.json", doc(good)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ auth, field string }{
		{`"metadata_options":{"accounts-server":["https://a.test"]}`, "auth.metadata_options.accounts-server"},
		{`"tenant_chosen_hosts":["shop"]`, "auth.tenant_chosen_hosts[0]"},
		{`"tenant_chosen_hosts":["connection.shop}}{{x.y"]`, "auth.tenant_chosen_hosts[0]"},
	} {
		_, err := catalog.DecodeDescriptor("x.json", doc(tc.auth))
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err = %v, want a problem with %s", tc.auth, err, tc.field)
		}
	}
}
