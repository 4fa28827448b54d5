package native_test

import (
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

// natives are the first-party native providers.
func natives() []*provider.Builder {
	return []*provider.Builder{
		airtable.New(), asana.New(), box.New(), clickup.New(), discord.New(), dropbox.New(), figma.New(),
		github.New(), gcal.New(), gdrive.New(), gmail.New(), hubspot.New(), intercom.New(), jira.New(),
		linear.New(), teams.New(), monday.New(), notion.New(), onedrive.New(), outlook.New(), pipedrive.New(),
		plaid.New(), quickbooks.New(), salesforce.New(), sendgrid.New(), shopify.New(), slack.New(),
		square.New(), stripe.New(), trello.New(), twilio.New(), xero.New(), zohocrm.New(), zoom.New(),
	}
}
