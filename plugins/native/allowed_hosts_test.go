package native_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/sdk/provider"

	"github.com/atomhq/atom/plugins/native/airtable/airtable"
	"github.com/atomhq/atom/plugins/native/asana/asana"
	"github.com/atomhq/atom/plugins/native/box/box"
	"github.com/atomhq/atom/plugins/native/clickup/clickup"
	"github.com/atomhq/atom/plugins/native/discord/discord"
	"github.com/atomhq/atom/plugins/native/dropbox/dropbox"
	"github.com/atomhq/atom/plugins/native/figma/figma"
	"github.com/atomhq/atom/plugins/native/github/github"
	"github.com/atomhq/atom/plugins/native/google-calendar/gcal"
	"github.com/atomhq/atom/plugins/native/google-drive/gdrive"
	"github.com/atomhq/atom/plugins/native/google-mail/gmail"
	"github.com/atomhq/atom/plugins/native/hubspot/hubspot"
	"github.com/atomhq/atom/plugins/native/intercom/intercom"
	"github.com/atomhq/atom/plugins/native/jira/jira"
	"github.com/atomhq/atom/plugins/native/linear/linear"
	"github.com/atomhq/atom/plugins/native/microsoft-teams/teams"
	"github.com/atomhq/atom/plugins/native/monday/monday"
	"github.com/atomhq/atom/plugins/native/notion/notion"
	"github.com/atomhq/atom/plugins/native/one-drive/onedrive"
	"github.com/atomhq/atom/plugins/native/outlook/outlook"
	"github.com/atomhq/atom/plugins/native/pipedrive/pipedrive"
	"github.com/atomhq/atom/plugins/native/plaid/plaid"
	"github.com/atomhq/atom/plugins/native/quickbooks/quickbooks"
	"github.com/atomhq/atom/plugins/native/salesforce/salesforce"
	"github.com/atomhq/atom/plugins/native/sendgrid/sendgrid"
	"github.com/atomhq/atom/plugins/native/shopify/shopify"
	"github.com/atomhq/atom/plugins/native/slack/slack"
	"github.com/atomhq/atom/plugins/native/square/square"
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/plugins/native/trello/trello"
	"github.com/atomhq/atom/plugins/native/twilio/twilio"
	"github.com/atomhq/atom/plugins/native/xero/xero"
	"github.com/atomhq/atom/plugins/native/zoho-crm/zohocrm"
	"github.com/atomhq/atom/plugins/native/zoom/zoom"
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
	providers := []*provider.Builder{
		airtable.New(),
		asana.New(),
		box.New(),
		clickup.New(),
		discord.New(),
		dropbox.New(),
		figma.New(),
		github.New(),
		gcal.New(),
		gdrive.New(),
		gmail.New(),
		hubspot.New(),
		intercom.New(),
		jira.New(),
		linear.New(),
		teams.New(),
		monday.New(),
		notion.New(),
		onedrive.New(),
		outlook.New(),
		pipedrive.New(),
		plaid.New(),
		quickbooks.New(),
		salesforce.New(),
		sendgrid.New(),
		shopify.New(),
		slack.New(),
		square.New(),
		stripe.New(),
		trello.New(),
		twilio.New(),
		xero.New(),
		zohocrm.New(),
		zoom.New(),
	}
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
