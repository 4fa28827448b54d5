package native_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/sdk/providertest"
)

// apiDocs names, per native provider, its API reference and the upstream
// documentation each action follows (the endpoint or method it calls).
// An action missing here is listed with the reference alone.
var apiDocs = map[string]struct {
	ref     string
	actions map[string]string
}{
	"airtable": {"https://airtable.com/developers/web/api/introduction", map[string]string{
		"test_connection": "https://airtable.com/developers/web/api/get-user-id-scopes",
		"list_bases":      "https://airtable.com/developers/web/api/list-bases",
		"get_base_schema": "https://airtable.com/developers/web/api/get-base-schema",
		"list_records":    "https://airtable.com/developers/web/api/list-records",
		"get_record":      "https://airtable.com/developers/web/api/get-record",
		"create_records":  "https://airtable.com/developers/web/api/create-records",
		"update_record":   "https://airtable.com/developers/web/api/update-record",
		"delete_record":   "https://airtable.com/developers/web/api/delete-record",
	}},
	"asana": {"https://developers.asana.com/reference/rest-api-reference", map[string]string{
		"test_connection": "https://developers.asana.com/reference/getuser",
		"list_workspaces": "https://developers.asana.com/reference/getworkspaces",
		"list_projects":   "https://developers.asana.com/reference/getprojectsforworkspace",
		"list_tasks":      "https://developers.asana.com/reference/gettasksforproject",
		"get_task":        "https://developers.asana.com/reference/gettask",
		"create_task":     "https://developers.asana.com/reference/createtask",
		"update_task":     "https://developers.asana.com/reference/updatetask",
		"add_comment":     "https://developers.asana.com/reference/createstoryfortask",
	}},
	"box": {"https://developer.box.com/reference/", map[string]string{
		"test_connection":   "https://developer.box.com/reference/get-users-me/",
		"list_folder_items": "https://developer.box.com/reference/get-folders-id-items/",
		"get_file":          "https://developer.box.com/reference/get-files-id/",
		"create_folder":     "https://developer.box.com/reference/post-folders/",
		"search":            "https://developer.box.com/reference/get-search/",
		"delete_file":       "https://developer.box.com/reference/delete-files-id/",
	}},
	"clickup": {"https://clickup.com/api/", map[string]string{
		"test_connection":     "https://clickup.com/api/clickupreference/operation/GetAuthorizedUser/",
		"list_workspaces":     "https://clickup.com/api/clickupreference/operation/GetAuthorizedTeams/",
		"list_spaces":         "https://clickup.com/api/clickupreference/operation/GetSpaces/",
		"list_tasks":          "https://clickup.com/api/clickupreference/operation/GetTasks/",
		"get_task":            "https://clickup.com/api/clickupreference/operation/GetTask/",
		"create_task":         "https://clickup.com/api/clickupreference/operation/CreateTask/",
		"update_task":         "https://clickup.com/api/clickupreference/operation/UpdateTask/",
		"create_task_comment": "https://clickup.com/api/clickupreference/operation/CreateTaskComment/",
	}},
	"discord": {"https://discord.com/developers/docs/reference", map[string]string{
		"test_connection": "https://discord.com/developers/docs/resources/user#get-current-user",
		"list_guilds":     "https://discord.com/developers/docs/resources/user#get-current-user-guilds",
		"list_channels":   "https://discord.com/developers/docs/resources/guild#get-guild-channels",
		"send_message":    "https://discord.com/developers/docs/resources/message#create-message",
		"list_messages":   "https://discord.com/developers/docs/resources/message#get-channel-messages",
	}},
	"dropbox": {"https://www.dropbox.com/developers/documentation/http/documentation", map[string]string{
		"test_connection": "https://www.dropbox.com/developers/documentation/http/documentation#users-get_current_account",
		"list_folder":     "https://www.dropbox.com/developers/documentation/http/documentation#files-list_folder",
		"get_metadata":    "https://www.dropbox.com/developers/documentation/http/documentation#files-get_metadata",
		"create_folder":   "https://www.dropbox.com/developers/documentation/http/documentation#files-create_folder",
		"upload_file":     "https://www.dropbox.com/developers/documentation/http/documentation#files-upload",
		"delete":          "https://www.dropbox.com/developers/documentation/http/documentation#files-delete",
	}},
	"figma": {"https://www.figma.com/developers/api", map[string]string{
		"test_connection":    "https://www.figma.com/developers/api#get-me-endpoint",
		"get_file":           "https://www.figma.com/developers/api#get-files-endpoint",
		"get_file_nodes":     "https://www.figma.com/developers/api#get-file-nodes-endpoint",
		"list_file_versions": "https://www.figma.com/developers/api#get-file-versions-endpoint",
		"render_images":      "https://www.figma.com/developers/api#get-images-endpoint",
		"list_comments":      "https://www.figma.com/developers/api#get-comments-endpoint",
		"post_comment":       "https://www.figma.com/developers/api#post-comments-endpoint",
	}},
	"github": {"https://docs.github.com/en/rest", map[string]string{
		"test_connection":      "https://docs.github.com/en/rest/users/users#get-the-authenticated-user",
		"list_repositories":    "https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user",
		"list_issues":          "https://docs.github.com/en/rest/issues/issues#list-repository-issues",
		"get_issue":            "https://docs.github.com/en/rest/issues/issues#get-an-issue",
		"create_issue":         "https://docs.github.com/en/rest/issues/issues#create-an-issue",
		"update_issue":         "https://docs.github.com/en/rest/issues/issues#update-an-issue",
		"create_issue_comment": "https://docs.github.com/en/rest/issues/comments#create-an-issue-comment",
	}},
	"google-calendar": {"https://developers.google.com/calendar/api/v3/reference", map[string]string{
		"test_connection": "https://developers.google.com/calendar/api/v3/reference/calendars/get",
		"list_calendars":  "https://developers.google.com/calendar/api/v3/reference/calendarList/list",
		"list_events":     "https://developers.google.com/calendar/api/v3/reference/events/list",
		"create_event":    "https://developers.google.com/calendar/api/v3/reference/events/insert",
		"update_event":    "https://developers.google.com/calendar/api/v3/reference/events/patch",
		"delete_event":    "https://developers.google.com/calendar/api/v3/reference/events/delete",
	}},
	"google-drive": {"https://developers.google.com/drive/api/reference/rest/v3", map[string]string{
		"test_connection": "https://developers.google.com/drive/api/reference/rest/v3/about/get",
		"list_files":      "https://developers.google.com/drive/api/reference/rest/v3/files/list",
		"get_file":        "https://developers.google.com/drive/api/reference/rest/v3/files/get",
		"create_folder":   "https://developers.google.com/drive/api/reference/rest/v3/files/create",
		"upload_file":     "https://developers.google.com/drive/api/guides/manage-uploads#multipart",
		"delete_file":     "https://developers.google.com/drive/api/reference/rest/v3/files/delete",
	}},
	"google-mail": {"https://developers.google.com/gmail/api/reference/rest", map[string]string{
		"test_connection": "https://developers.google.com/gmail/api/reference/rest/v1/users/getProfile",
		"list_messages":   "https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list",
		"get_message":     "https://developers.google.com/gmail/api/reference/rest/v1/users.messages/get",
		"send_email":      "https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send",
		"create_draft":    "https://developers.google.com/gmail/api/reference/rest/v1/users.drafts/create",
		"list_labels":     "https://developers.google.com/gmail/api/reference/rest/v1/users.labels/list",
	}},
	"hubspot": {"https://developers.hubspot.com/docs/api/crm/understanding-the-crm", map[string]string{
		"test_connection": "https://developers.hubspot.com/docs/api/settings/account-information-api",
		"list_records":    "https://developers.hubspot.com/docs/api/crm/contacts",
		"get_record":      "https://developers.hubspot.com/docs/api/crm/contacts",
		"create_record":   "https://developers.hubspot.com/docs/api/crm/contacts",
		"update_record":   "https://developers.hubspot.com/docs/api/crm/contacts",
		"search_records":  "https://developers.hubspot.com/docs/api/crm/search",
	}},
	"intercom": {"https://developers.intercom.com/docs/references/rest-api/api.intercom.io", map[string]string{
		"test_connection":       "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/admins/identifyadmin",
		"list_contacts":         "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/contacts/listcontacts",
		"create_contact":        "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/contacts/createcontact",
		"add_note_to_contact":   "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/notes/createnote",
		"list_tags":             "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/tags/listtags",
		"get_conversation":      "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/retrieveconversation",
		"reply_to_conversation": "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/replyconversation",
	}},
	"jira": {"https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/", map[string]string{
		"test_connection": "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/#api-rest-api-3-myself-get",
		"list_projects":   "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-projects/#api-rest-api-3-project-search-get",
		"search_issues":   "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get",
		"get_issue":       "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get",
		"create_issue":    "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post",
		"update_issue":    "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put",
		"add_comment":     "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-post",
	}},
	"linear": {"https://developers.linear.app/docs/graphql/working-with-the-graphql-api", map[string]string{
		"test_connection": "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Query#viewer",
		"list_teams":      "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Query#teams",
		"list_issues":     "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Query#issues",
		"create_issue":    "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Mutation#issueCreate",
		"update_issue":    "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Mutation#issueUpdate",
		"create_comment":  "https://studio.apollographql.com/public/Linear-API/variant/current/schema/reference/objects/Mutation#commentCreate",
	}},
	"microsoft-teams": {"https://learn.microsoft.com/en-us/graph/api/resources/teams-api-overview", map[string]string{
		"test_connection":       "https://learn.microsoft.com/en-us/graph/api/user-get",
		"list_joined_teams":     "https://learn.microsoft.com/en-us/graph/api/user-list-joinedteams",
		"list_channels":         "https://learn.microsoft.com/en-us/graph/api/channel-list",
		"list_channel_messages": "https://learn.microsoft.com/en-us/graph/api/channel-list-messages",
		"send_channel_message":  "https://learn.microsoft.com/en-us/graph/api/channel-post-messages",
		"send_chat_message":     "https://learn.microsoft.com/en-us/graph/api/chat-post-messages",
	}},
	"monday": {"https://developer.monday.com/api-reference/reference/about-the-api-reference", map[string]string{
		"test_connection":      "https://developer.monday.com/api-reference/reference/me",
		"list_boards":          "https://developer.monday.com/api-reference/reference/boards",
		"list_items":           "https://developer.monday.com/api-reference/reference/items-page",
		"create_item":          "https://developer.monday.com/api-reference/reference/items#create-an-item",
		"change_column_values": "https://developer.monday.com/api-reference/reference/columns#change-multiple-column-values",
		"create_update":        "https://developer.monday.com/api-reference/reference/updates#create-an-update",
	}},
	"notion": {"https://developers.notion.com/reference/intro", map[string]string{
		"test_connection":     "https://developers.notion.com/reference/get-self",
		"search":              "https://developers.notion.com/reference/post-search",
		"query_database":      "https://developers.notion.com/reference/post-database-query",
		"get_page":            "https://developers.notion.com/reference/retrieve-a-page",
		"create_page":         "https://developers.notion.com/reference/post-page",
		"append_blocks":       "https://developers.notion.com/reference/patch-block-children",
		"list_block_children": "https://developers.notion.com/reference/get-block-children",
	}},
	"one-drive": {"https://learn.microsoft.com/en-us/onedrive/developer/rest-api/", map[string]string{
		"test_connection": "https://learn.microsoft.com/en-us/graph/api/drive-get",
		"list_children":   "https://learn.microsoft.com/en-us/graph/api/driveitem-list-children",
		"get_item":        "https://learn.microsoft.com/en-us/graph/api/driveitem-get",
		"create_folder":   "https://learn.microsoft.com/en-us/graph/api/driveitem-post-children",
		"upload_file":     "https://learn.microsoft.com/en-us/graph/api/driveitem-put-content",
		"search_items":    "https://learn.microsoft.com/en-us/graph/api/driveitem-search",
		"delete_item":     "https://learn.microsoft.com/en-us/graph/api/driveitem-delete",
	}},
	"outlook": {"https://learn.microsoft.com/en-us/graph/api/resources/mail-api-overview", map[string]string{
		"test_connection":   "https://learn.microsoft.com/en-us/graph/api/user-get",
		"list_messages":     "https://learn.microsoft.com/en-us/graph/api/user-list-messages",
		"get_message":       "https://learn.microsoft.com/en-us/graph/api/message-get",
		"send_mail":         "https://learn.microsoft.com/en-us/graph/api/user-sendmail",
		"reply_to_message":  "https://learn.microsoft.com/en-us/graph/api/message-reply",
		"list_mail_folders": "https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders",
	}},
	"pipedrive": {"https://developers.pipedrive.com/docs/api/v1", map[string]string{
		"test_connection": "https://developers.pipedrive.com/docs/api/v1/Users#getCurrentUser",
		"list_persons":    "https://developers.pipedrive.com/docs/api/v1/Persons#getPersons",
		"create_person":   "https://developers.pipedrive.com/docs/api/v1/Persons#addPerson",
		"search_persons":  "https://developers.pipedrive.com/docs/api/v1/Persons#searchPersons",
		"create_deal":     "https://developers.pipedrive.com/docs/api/v1/Deals#addDeal",
		"update_deal":     "https://developers.pipedrive.com/docs/api/v1/Deals#updateDeal",
	}},
	"plaid": {"https://plaid.com/docs/api/", map[string]string{
		"test_connection":       "https://plaid.com/docs/api/institutions/#institutionsget",
		"create_link_token":     "https://plaid.com/docs/api/link/#linktokencreate",
		"exchange_public_token": "https://plaid.com/docs/api/items/#itempublic_tokenexchange",
		"get_accounts":          "https://plaid.com/docs/api/accounts/#accountsget",
		"sync_transactions":     "https://plaid.com/docs/api/products/transactions/#transactionssync",
	}},
	"quickbooks": {"https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account", map[string]string{
		"test_connection": "https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo",
		"list_customers":  "https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#query-a-customer",
		"get_customer":    "https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#read-a-customer",
		"create_customer": "https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#create-a-customer",
		"create_invoice":  "https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#create-an-invoice",
		"query":           "https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries",
	}},
	"salesforce": {"https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/", map[string]string{
		"test_connection":  "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_discoveryresource.htm",
		"run_query":        "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm",
		"get_record":       "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve_get.htm",
		"create_record":    "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info_post.htm",
		"update_record":    "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve_patch.htm",
		"delete_record":    "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve_delete.htm",
		"describe_sobject": "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm",
	}},
	"sendgrid": {"https://www.twilio.com/docs/sendgrid/api-reference", map[string]string{
		"test_connection": "https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access",
		"send_email":      "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send",
		"list_templates":  "https://www.twilio.com/docs/sendgrid/api-reference/transactional-templates/retrieve-paged-transactional-templates",
		"upsert_contacts": "https://www.twilio.com/docs/sendgrid/api-reference/contacts/add-or-update-a-contact",
		"list_bounces":    "https://www.twilio.com/docs/sendgrid/api-reference/bounces-api/retrieve-all-bounces",
	}},
	"shopify": {"https://shopify.dev/docs/api/admin-rest", map[string]string{
		"test_connection": "https://shopify.dev/docs/api/admin-rest/2024-07/resources/shop#get-shop",
		"list_products":   "https://shopify.dev/docs/api/admin-rest/2024-07/resources/product#get-products",
		"get_product":     "https://shopify.dev/docs/api/admin-rest/2024-07/resources/product#get-products-product-id",
		"create_product":  "https://shopify.dev/docs/api/admin-rest/2024-07/resources/product#post-products",
		"list_orders":     "https://shopify.dev/docs/api/admin-rest/2024-07/resources/order#get-orders",
		"create_customer": "https://shopify.dev/docs/api/admin-rest/2024-07/resources/customer#post-customers",
	}},
	"slack": {"https://api.slack.com/methods", map[string]string{
		"test_connection":          "https://api.slack.com/methods/auth.test",
		"post_message":             "https://api.slack.com/methods/chat.postMessage",
		"list_conversations":       "https://api.slack.com/methods/conversations.list",
		"get_conversation_history": "https://api.slack.com/methods/conversations.history",
		"list_users":               "https://api.slack.com/methods/users.list",
		"search_messages":          "https://api.slack.com/methods/search.messages",
	}},
	"square": {"https://developer.squareup.com/reference/square", map[string]string{
		"test_connection": "https://developer.squareup.com/reference/square/merchants-api/retrieve-merchant",
		"list_locations":  "https://developer.squareup.com/reference/square/locations-api/list-locations",
		"list_customers":  "https://developer.squareup.com/reference/square/customers-api/list-customers",
		"create_customer": "https://developer.squareup.com/reference/square/customers-api/create-customer",
		"list_payments":   "https://developer.squareup.com/reference/square/payments-api/list-payments",
		"create_payment":  "https://developer.squareup.com/reference/square/payments-api/create-payment",
	}},
	"stripe": {"https://docs.stripe.com/api", map[string]string{
		"test_connection":         "https://docs.stripe.com/api/balance/balance_retrieve",
		"get_balance":             "https://docs.stripe.com/api/balance/balance_retrieve",
		"create_customer":         "https://docs.stripe.com/api/customers/create",
		"get_customer":            "https://docs.stripe.com/api/customers/retrieve",
		"update_customer":         "https://docs.stripe.com/api/customers/update",
		"delete_customer":         "https://docs.stripe.com/api/customers/delete",
		"list_customers":          "https://docs.stripe.com/api/customers/list",
		"create_payment_intent":   "https://docs.stripe.com/api/payment_intents/create",
		"get_payment_intent":      "https://docs.stripe.com/api/payment_intents/retrieve",
		"update_payment_intent":   "https://docs.stripe.com/api/payment_intents/update",
		"confirm_payment_intent":  "https://docs.stripe.com/api/payment_intents/confirm",
		"capture_payment_intent":  "https://docs.stripe.com/api/payment_intents/capture",
		"cancel_payment_intent":   "https://docs.stripe.com/api/payment_intents/cancel",
		"list_payment_intents":    "https://docs.stripe.com/api/payment_intents/list",
		"create_charge":           "https://docs.stripe.com/api/charges/create",
		"get_charge":              "https://docs.stripe.com/api/charges/retrieve",
		"update_charge":           "https://docs.stripe.com/api/charges/update",
		"list_charges":            "https://docs.stripe.com/api/charges/list",
		"create_refund":           "https://docs.stripe.com/api/refunds/create",
		"get_refund":              "https://docs.stripe.com/api/refunds/retrieve",
		"update_refund":           "https://docs.stripe.com/api/refunds/update",
		"cancel_refund":           "https://docs.stripe.com/api/refunds/cancel",
		"list_refunds":            "https://docs.stripe.com/api/refunds/list",
		"create_invoice":          "https://docs.stripe.com/api/invoices/create",
		"get_invoice":             "https://docs.stripe.com/api/invoices/retrieve",
		"update_invoice":          "https://docs.stripe.com/api/invoices/update",
		"delete_invoice":          "https://docs.stripe.com/api/invoices/delete",
		"finalize_invoice":        "https://docs.stripe.com/api/invoices/finalize",
		"pay_invoice":             "https://docs.stripe.com/api/invoices/pay",
		"send_invoice":            "https://docs.stripe.com/api/invoices/send",
		"void_invoice":            "https://docs.stripe.com/api/invoices/void",
		"list_invoices":           "https://docs.stripe.com/api/invoices/list",
		"create_subscription":     "https://docs.stripe.com/api/subscriptions/create",
		"get_subscription":        "https://docs.stripe.com/api/subscriptions/retrieve",
		"update_subscription":     "https://docs.stripe.com/api/subscriptions/update",
		"cancel_subscription":     "https://docs.stripe.com/api/subscriptions/cancel",
		"list_subscriptions":      "https://docs.stripe.com/api/subscriptions/list",
		"create_product":          "https://docs.stripe.com/api/products/create",
		"get_product":             "https://docs.stripe.com/api/products/retrieve",
		"update_product":          "https://docs.stripe.com/api/products/update",
		"delete_product":          "https://docs.stripe.com/api/products/delete",
		"list_products":           "https://docs.stripe.com/api/products/list",
		"create_price":            "https://docs.stripe.com/api/prices/create",
		"get_price":               "https://docs.stripe.com/api/prices/retrieve",
		"update_price":            "https://docs.stripe.com/api/prices/update",
		"list_prices":             "https://docs.stripe.com/api/prices/list",
		"create_checkout_session": "https://docs.stripe.com/api/checkout/sessions/create",
		"get_checkout_session":    "https://docs.stripe.com/api/checkout/sessions/retrieve",
		"expire_checkout_session": "https://docs.stripe.com/api/checkout/sessions/expire",
		"list_checkout_sessions":  "https://docs.stripe.com/api/checkout/sessions/list",
		"get_event":               "https://docs.stripe.com/api/events/retrieve",
		"list_events":             "https://docs.stripe.com/api/events/list",
	}},
	"trello": {"https://developer.atlassian.com/cloud/trello/rest/", map[string]string{
		"test_connection":    "https://developer.atlassian.com/cloud/trello/rest/api-group-members/#api-members-id-get",
		"list_boards":        "https://developer.atlassian.com/cloud/trello/rest/api-group-members/#api-members-id-boards-get",
		"list_lists":         "https://developer.atlassian.com/cloud/trello/rest/api-group-boards/#api-boards-id-lists-get",
		"list_board_actions": "https://developer.atlassian.com/cloud/trello/rest/api-group-boards/#api-boards-boardid-actions-get",
		"get_card":           "https://developer.atlassian.com/cloud/trello/rest/api-group-cards/#api-cards-id-get",
		"create_card":        "https://developer.atlassian.com/cloud/trello/rest/api-group-cards/#api-cards-post",
		"update_card":        "https://developer.atlassian.com/cloud/trello/rest/api-group-cards/#api-cards-id-put",
		"add_comment":        "https://developer.atlassian.com/cloud/trello/rest/api-group-cards/#api-cards-id-actions-comments-post",
	}},
	"twilio": {"https://www.twilio.com/docs/usage/api", map[string]string{
		"test_connection": "https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource",
		"send_sms":        "https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource",
		"list_messages":   "https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources",
		"get_message":     "https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource",
		"make_call":       "https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource",
	}},
	"xero": {"https://developer.xero.com/documentation/api/accounting/overview", map[string]string{
		"test_connection": "https://developer.xero.com/documentation/api/accounting/organisation",
		"list_contacts":   "https://developer.xero.com/documentation/api/accounting/contacts#get-contacts",
		"create_contact":  "https://developer.xero.com/documentation/api/accounting/contacts#put-contacts",
		"list_invoices":   "https://developer.xero.com/documentation/api/accounting/invoices#get-invoices",
		"create_invoice":  "https://developer.xero.com/documentation/api/accounting/invoices#put-invoices",
	}},
	"zoho-crm": {"https://www.zoho.com/crm/developer/docs/api/v6/", map[string]string{
		"test_connection": "https://www.zoho.com/crm/developer/docs/api/v6/get-org-data.html",
		"list_records":    "https://www.zoho.com/crm/developer/docs/api/v6/get-records.html",
		"get_record":      "https://www.zoho.com/crm/developer/docs/api/v6/get-records.html",
		"create_record":   "https://www.zoho.com/crm/developer/docs/api/v6/insert-records.html",
		"update_record":   "https://www.zoho.com/crm/developer/docs/api/v6/update-records.html",
		"search_records":  "https://www.zoho.com/crm/developer/docs/api/v6/search-records.html",
	}},
	"zoom": {"https://developers.zoom.us/docs/api/", map[string]string{
		"test_connection": "https://developers.zoom.us/docs/api/users/#tag/users/GET/users/{userId}",
		"list_meetings":   "https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/users/{userId}/meetings",
		"get_meeting":     "https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/meetings/{meetingId}",
		"create_meeting":  "https://developers.zoom.us/docs/api/meetings/#tag/meetings/POST/users/{userId}/meetings",
		"delete_meeting":  "https://developers.zoom.us/docs/api/meetings/#tag/meetings/DELETE/meetings/{meetingId}",
		"list_recordings": "https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording/GET/users/{userId}/recordings",
	}},
}

// authWayText says how each auth kind connects.
var authWayText = map[string]string{
	catalog.AuthOAuth2:   "`oauth2` (browser)",
	catalog.AuthOAuth2CC: "`oauth2_cc` (client id and secret)",
	catalog.AuthOAuth1:   "`oauth1` (browser)",
	catalog.AuthAPIKey:   "`api_key`",
	catalog.AuthBasic:    "`basic`",
	catalog.AuthCustom:   "`custom`",
}

// TestNativesDoc: docs/natives.md lists, per native provider, the auth
// ways its catalog descriptor offers (those TestAuthWays checks), its
// actions and the upstream documentation each follows. It is generated:
// go test ./plugins/native -run TestNativesDoc -update rewrites it.
// triggerDocs names, per native provider, the upstream documentation each
// trigger follows (the registration or list endpoint it calls, or the
// event it receives).
var triggerDocs = map[string]map[string]string{
	"stripe": {"event": "https://docs.stripe.com/api/webhook_endpoints/create"},
	"github": {
		"issues":       "https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues",
		"pull_request": "https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request",
		"push":         "https://docs.github.com/en/webhooks/webhook-events-and-payloads#push",
	},
	"slack":        {"message_in_channel": "https://api.slack.com/events/message.channels"},
	"shopify":      {"order": "https://shopify.dev/docs/api/admin-rest/2024-07/resources/webhook#post-webhooks"},
	"linear":       {"webhook": "https://developers.linear.app/docs/graphql/webhooks"},
	"hubspot":      {"new_or_updated_contact": "https://developers.hubspot.com/docs/api/crm/search"},
	"google-drive": {"new_file_in_folder": "https://developers.google.com/drive/api/reference/rest/v3/files/list"},
	"google-mail":  {"new_email": "https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list"},
	"jira":         {"new_issue": "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get"},
	"notion":       {"updated_page_in_database": "https://developers.notion.com/reference/post-database-query"},
}

func TestNativesDoc(t *testing.T) {
	cat, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`# Native providers: auth ways, actions and upstream docs

Generated from the plugins' manifests and their catalog descriptors by
` + "`go test ./plugins/native -run TestNativesDoc -update`" + `; do not edit by hand.
Every auth way listed is checked by ` + "`TestAuthWays`" + ` (plugins/native/authways_test.go):
a connection of that kind reaches the upstream as recorded in
` + "`plugins/native/testdata/authways/<id>.<kind>.txt`" + `. Connect with
` + "`POST /api/v1/connections/<id>`" + ` and ` + "`auth_kind`" + ` for the typed-in ways
(credential fields in parentheses), or through the browser for ` + "`oauth2`/`oauth1`" + `.
Provider details (env vars, scopes) are in [plugins/native/README.md](../plugins/native/README.md).
Triggers (polling, webhook, app_webhook) follow the actions of the providers that have them.

`)
	providers := natives()
	sort.Slice(providers, func(i, j int) bool { return providers[i].Manifest().ID < providers[j].Manifest().ID })
	missing := 0
	for _, p := range providers {
		m := p.Manifest()
		d, ok := cat.Get(m.ID)
		if !ok {
			t.Errorf("%s: no catalog descriptor", m.ID)
			continue
		}
		docs, ok := apiDocs[m.ID]
		if !ok {
			t.Errorf("%s: no entry in apiDocs", m.ID)
			continue
		}
		var ways []string
		seen := map[string]bool{}
		for _, a := range append([]catalog.Auth{d.Auth}, d.AuthAlternatives...) {
			if seen[a.Kind] {
				continue
			}
			seen[a.Kind] = true
			w := authWayText[a.Kind]
			if len(a.CredentialFields) > 0 {
				w += " (" + strings.Join(a.CredentialFields, ", ") + ")"
			}
			if len(a.ConnectionParams) > 0 {
				w += " with parameters " + strings.Join(a.ConnectionParams, ", ")
			}
			ways = append(ways, w)
		}
		fmt.Fprintf(&b, "## %s (`%s`)\n\nAuth ways: %s. API reference: %s\n\n| action | upstream doc |\n|---|---|\n", m.Name, m.ID, strings.Join(ways, ", "), docs.ref)
		names := map[string]bool{}
		for _, a := range m.Actions {
			names[a.Name] = true
		}
		for a := range docs.actions {
			if !names[a] {
				t.Errorf("%s: apiDocs names action %s, which the provider does not have", m.ID, a)
			}
		}
		for _, a := range m.Actions {
			u, ok := docs.actions[a.Name]
			if !ok {
				missing++
				u = docs.ref + " (API reference)"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", a.Name, u)
		}
		b.WriteString("\n")
		if len(m.Triggers) > 0 {
			b.WriteString("| trigger | kind | upstream doc |\n|---|---|---|\n")
			for _, tr := range m.Triggers {
				u, ok := triggerDocs[m.ID][tr.Name]
				if !ok {
					t.Errorf("%s: trigger %s has no entry in triggerDocs", m.ID, tr.Name)
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", tr.Name, tr.Kind, u)
			}
			b.WriteString("\n")
		}
	}
	providertest.Golden(t, filepath.Join("..", "..", "docs", "natives.md"), []byte(b.String()))
	if missing > 0 {
		t.Logf("%d actions link the API reference only", missing)
	}
}
