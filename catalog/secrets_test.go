package catalog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

// TestShippedSecretHosts walks every shipped descriptor: a variable that
// chooses the host of a URL carrying a host-wide secret must be limited
// to allowed values, fill one label under a domain the descriptor names,
// or be declared as needing the tenant's own app or key; and a declared
// variable must be one of those that need it.
func TestShippedSecretHosts(t *testing.T) {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var urls, templated, constrained, label, chosen int
	var labelVars, chosenVars, labelOnly int
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
				switch {
				case len(d.Auth.AllowedValues(v)) > 0:
					constrained++
				case catalog.LabelParent(su.Template, v) != "":
					label++
				default:
					chosen++
				}
			}
		}
		lv := catalog.LabelHostVars(d)
		labelVars += len(lv)
		chosenVars += len(d.Auth.TenantChosenHosts)
		if len(lv) > 0 && len(d.Auth.TenantChosenHosts) == 0 {
			labelOnly++
		}
	}
	if c.Len() < 1400 {
		t.Fatalf("only %d descriptors walked", c.Len())
	}
	t.Logf("%d descriptors, %d secret-bearing URLs, %d with a templated host; host variables per URL: %d limited to allowed values, "+
		"%d one label under a fixed domain, %d tenant-chosen", c.Len(), urls, templated, constrained, label, chosen)
	t.Logf("per descriptor: %d variables one label under a fixed domain, %d declared tenant-chosen; %d descriptors need no tenant app or key thanks to the label rule",
		labelVars, chosenVars, labelOnly)

	// Spot checks of the classification on well-known descriptors.
	for _, tc := range []struct {
		id, v  string
		label  string // the parent domain; "" for a tenant-chosen host
		chosen bool
	}{
		{id: "shopify", v: "connection.shop", label: "myshopify.com"},
		{id: "shopify-cc", v: "connection.subdomain", label: "myshopify.com"},
		{id: "zendesk", v: "connection.subdomain", label: "zendesk.com"},
		{id: "okta", v: "connection.subdomain", label: "okta.com"},
		{id: "netsuite", v: "connection.accountId", label: "suitetalk.api.netsuite.com"},
		{id: "okta-cc", v: "connection.subdomain", label: "okta.com"},
		{id: "okta-cc", v: "connection.hostname", chosen: true},       // whole host
		{id: "salesforce", v: "connection.hostname", chosen: true},    // whole host
		{id: "metabase", v: "connection.domain", chosen: true},        // label followed by a TLD only
		{id: "nexthink", v: "connection.instance", chosen: true},      // part of a label
		{id: "aws", v: "connection.subdomain", chosen: true},          // parent holds a variable
		{id: "unipile", v: "connection.port", chosen: true},           // port
		{id: "zoho-bookings", v: "connection.location", chosen: true}, // may hold dots
		{id: "acumatica", v: "connection.instanceUrl", chosen: true},  // whole host
		{id: "http-oauth2", v: "connection.tokenUrl", chosen: true},   // whole URL
	} {
		d, ok := c.Get(tc.id)
		if !ok {
			t.Errorf("%s: not shipped", tc.id)
			continue
		}
		chosen := slices.Contains(d.Auth.TenantChosenHosts, tc.v)
		if chosen != tc.chosen {
			t.Errorf("%s: %s declared tenant-chosen: %v, want %v (tenant_chosen_hosts %v)", tc.id, tc.v, chosen, tc.chosen, d.Auth.TenantChosenHosts)
		}
		if tc.label != "" {
			v := parseVar(t, tc.v)
			for _, su := range catalog.SecretURLs(d) {
				if slices.Contains(catalog.HostVars(su.Template), v) {
					if got := catalog.LabelParent(su.Template, v); got != tc.label {
						t.Errorf("%s: %s: %s: parent %q, want %q", tc.id, su.Field, tc.v, got, tc.label)
					}
				}
			}
			if !slices.Contains(catalog.LabelHostVars(d), tc.v) {
				t.Errorf("%s: %s not among the label variables %v", tc.id, tc.v, catalog.LabelHostVars(d))
			}
		}
	}
}

func parseVar(t *testing.T, s string) catalog.TemplateVar {
	t.Helper()
	ns, name, ok := strings.Cut(s, ".")
	if !ok {
		t.Fatalf("bad variable %q", s)
	}
	return catalog.TemplateVar{Namespace: ns, Name: name}
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
		{"one label under a named domain", nil, nil},
		{"whole host", func(d *catalog.Descriptor) { d.Auth.TokenURL = "https://{{connection.shop}}/token" },
			[]string{"auth.token_url: connection.shop"}},
		{"declared", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://{{connection.shop}}/token"
			d.Auth.TenantChosenHosts = []string{"connection.shop"}
		}, nil},
		{"stale declaration", func(d *catalog.Descriptor) { d.Auth.TenantChosenHosts = []string{"connection.shop"} },
			[]string{"auth.tenant_chosen_hosts: connection.shop"}},
		{"label under a top-level domain only", func(d *catalog.Descriptor) { d.Auth.TokenURL = "https://{{connection.shop}}.com/token" },
			[]string{"auth.token_url: connection.shop"}},
		{"label under a public suffix", func(d *catalog.Descriptor) { d.Auth.TokenURL = "https://{{connection.shop}}.co.uk/token" },
			[]string{"auth.token_url: connection.shop"}},
		{"label under a private suffix of the provider", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://{{connection.shop}}.myshopify.com/admin/oauth/access_token"
		}, nil},
		{"label under a numeric parent", func(d *catalog.Descriptor) { d.Auth.TokenURL = "https://{{connection.shop}}.0.0.1/token" },
			[]string{"auth.token_url: connection.shop"}},
		{"part of a label", func(d *catalog.Descriptor) { d.Auth.TokenURL = "https://{{connection.shop}}-api.example.com/token" },
			[]string{"auth.token_url: connection.shop"}},
		{"parent holds a variable", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://{{connection.shop}}.{{connection.region}}.example.com/token"
		}, []string{"auth.token_url: connection.shop"}},
		{"label in one URL, whole host in another", func(d *catalog.Descriptor) {
			d.Auth.RefreshURL = "https://{{connection.shop}}/refresh"
		}, []string{"auth.refresh_url: connection.shop"}},
		{"label in one alternative, whole host in another", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://{{connection.shop}}.example.com/token || https://{{connection.shop}}/token"
		}, []string{"auth.token_url: connection.shop"}},
		{"allowed values", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://{{connection.shop}}/token"
			d.Auth.ConnectionParamOptions = map[string][]string{"shop": {"a.test", "b.test"}}
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
		{"api key base URL with one label", func(d *catalog.Descriptor) {
			d.Auth = catalog.Auth{Kind: catalog.AuthAPIKey}
			d.API.BaseURL = "https://{{credentials.subdomain}}.example.com/api"
		}, nil},
		{"oauth base URL carries the tenant's token only", func(d *catalog.Descriptor) {
			d.Auth.TokenURL = "https://fixed.example.com/token"
			d.API.BaseURL = "https://{{connection.shop}}/api"
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
	if _, err := catalog.ExpandSecretURL("https://{{connection.ext}}.example", vars("connection", "ext", "eu"), nil); !errors.Is(err, catalog.ErrTenantChosenHost) {
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

// TestLabelParent: which places of a variable count as one label under a
// parent domain the descriptor writes out.
func TestLabelParent(t *testing.T) {
	shop := catalog.TemplateVar{Namespace: "connection", Name: "shop"}
	for _, tc := range []struct{ tmpl, want string }{
		{"https://{{connection.shop}}.myshopify.com/admin/oauth/access_token", "myshopify.com"},
		{"https://{{connection.shop}}.zendesk.com", "zendesk.com"},
		{"https://{{connection.shop}}.api.example.com:8443/x", "api.example.com"},
		{"https://api.{{connection.shop}}.example.com/x", "example.com"},
		{"https://{{connection.shop}}.example.co.uk/x", "example.co.uk"},
		{"https://{{connection.shop}}.example.com?x=1", "example.com"},
		{"https://{{connection.shop}}.example.com#x", "example.com"},
		{"https://{{connection.shop}}.a.test/t || https://{{connection.shop}}.b.test/t", "a.test"},
		{"https://fixed.example.com/{{connection.shop}}", ""}, // not in the host
		{"https://{{connection.shop}}/t", ""},
		{"{{connection.shop}}/t", ""},
		{"https://{{connection.shop}}.com/t", ""},
		{"https://{{connection.shop}}.co.uk/t", ""},
		{"https://{{connection.shop}}.com.au/t", ""},
		{"https://{{connection.shop}}.github.io/t", "github.io"}, // a private suffix: the descriptor's author names it
		{"https://{{connection.shop}}-x.example.com/t", ""},
		{"https://x{{connection.shop}}.example.com/t", ""},
		{"https://{{connection.shop}}{{connection.other}}.example.com/t", ""},
		{"https://{{connection.shop}}.{{connection.region}}.example.com/t", ""},
		{"https://{{connection.shop}}.example.{{connection.tld}}/t", ""},
		{"https://{{connection.shop}}.example.com./t", ""},
		{"https://{{connection.shop}}..example.com/t", ""},
		{"https://{{connection.shop}}.127.0.0.1/t", ""},
		{"https://{{connection.shop}}.exa_mple.com/t", ""},
		{"https://example.com:{{connection.shop}}/t", ""},
		{"https://{{connection.shop}}.example.com/t || https://{{connection.shop}}/t", ""},
		{"https://{{connection.shop}}.example.com/t || https://{{connection.hostname}}/t", "example.com"},
	} {
		if got := catalog.LabelParent(tc.tmpl, shop); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

// TestExpandSecretURLLabel: a value that fills one label under a parent
// domain goes to a host under that domain with the operator's secret only
// when it is a single DNS label; every other spelling is refused, and
// never named in the error.
func TestExpandSecretURLLabel(t *testing.T) {
	const tmpl = "https://{{connection.shop}}.myshopify.com/admin/oauth/access_token"
	vars := func(v string) map[string]map[string]string {
		return map[string]map[string]string{"connection": {"shop": v}}
	}
	for _, v := range []string{"my-store", "a", "STORE1", "0", "123", "xn--mnchen-3ya", strings.Repeat("a", 63), "a-b-c"} {
		got, err := catalog.ExpandSecretURL(tmpl, vars(v), nil)
		if want := "https://" + v + ".myshopify.com/admin/oauth/access_token"; err != nil || got != want {
			t.Errorf("shop=%q: %q, %v; want %q", v, got, err, want)
		}
		if !catalog.ValidLabelValue(v) {
			t.Errorf("ValidLabelValue(%q) = false", v)
		}
	}
	evil := []string{
		"evil.com#", "evil.com", "x.evil", "a@b", "a:1", "%2e", "..", ".", "a.", ".a", "a..b", "-a", "a-", "-", strings.Repeat("a", 64),
		"évil", "\u0435vil", "ev\u0456l", "evil\u200b", "ｅvil", "a b", " a", "a ", "a\tb", "a\x00", "a/b", "a?b", "a#b", "a\\b", "a%40b", "a%2fb",
		"a_b", "evil.com:443", "evil.com/", "x@evil.com", "user:pass@evil.com", "[::1]", "127.0.0.1", "evil.com%00", "a\r\nHost: evil.com",
		"my-store.myshopify.com", "my-store.myshopify.com.evil.com",
	}
	for _, v := range evil {
		if catalog.ValidLabelValue(v) {
			t.Errorf("ValidLabelValue(%q) = true", v)
		}
		got, err := catalog.ExpandSecretURL(tmpl, vars(v), nil)
		var le *catalog.LabelError
		if !errors.As(err, &le) || !errors.Is(err, catalog.ErrNotLabel) || le.Var.String() != "connection.shop" || le.Parent != "myshopify.com" {
			t.Errorf("shop=%q: %q, %v; want a LabelError", v, got, err)
		}
		if err != nil && len(v) > 2 && strings.Contains(err.Error(), v) {
			t.Errorf("shop=%q: the error repeats the value: %v", v, err)
		}
	}
	// Empty: the variable is missing, nothing is built.
	if _, err := catalog.ExpandSecretURL(tmpl, vars(""), nil); !errors.Is(err, catalog.ErrMissingVariable) {
		t.Errorf("empty shop: %v", err)
	}
	if catalog.ValidLabelValue("") {
		t.Error(`ValidLabelValue("") = true`)
	}
	// The same value as a whole host, as part of a label, or under a
	// single-label parent chooses the host: the tenant's own app is needed.
	for _, tm := range []string{
		"https://{{connection.shop}}/t", "https://{{connection.shop}}.com/t", "https://{{connection.shop}}-x.myshopify.com/t",
		"https://{{connection.shop}}.{{connection.region}}.example.com/t", "https://{{connection.shop}}.co.uk/t",
	} {
		vs := map[string]map[string]string{"connection": {"shop": "my-store", "region": "eu"}}
		if got, err := catalog.ExpandSecretURL(tm, vs, nil); !errors.Is(err, catalog.ErrTenantChosenHost) {
			t.Errorf("%s: %q, %v; want ErrTenantChosenHost", tm, got, err)
		}
	}
	// A variable with a list of allowed values takes listed values only,
	// even where the template puts it as one label.
	listed := func(v catalog.TemplateVar) []string {
		if v.Name == "shop" {
			return []string{"eu", "us"}
		}
		return nil
	}
	if got, err := catalog.ExpandSecretURL(tmpl, vars("eu"), listed); err != nil || got != "https://eu.myshopify.com/admin/oauth/access_token" {
		t.Errorf("listed label: %q, %v", got, err)
	}
	if got, err := catalog.ExpandSecretURL(tmpl, vars("xx"), listed); !errors.Is(err, catalog.ErrTenantChosenHost) {
		t.Errorf("unlisted label of a listed variable: %q, %v; want ErrTenantChosenHost", got, err)
	}
	// Without an operator secret, the label rule does not narrow the
	// value: a host name under the parent is fine.
	if got, err := catalog.ExpandURL(tmpl, vars("a.b")); err != nil || got != "https://a.b.myshopify.com/admin/oauth/access_token" {
		t.Errorf("ExpandURL: %q, %v", got, err)
	}
}
