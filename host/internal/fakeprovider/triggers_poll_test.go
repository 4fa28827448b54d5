package fakeprovider_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/plugins/native/google-drive/gdrive"
	"github.com/atomhq/atom/plugins/native/google-mail/gmail"
	"github.com/atomhq/atom/plugins/native/hubspot/hubspot"
	"github.com/atomhq/atom/plugins/native/jira/jira"
	"github.com/atomhq/atom/plugins/native/notion/notion"
	"github.com/atomhq/atom/sdk/provider"
)

// startPoller seeds old items with seed, runs the first poll (which only
// records where the feed stands) and returns the poller.
func startPoller(t *testing.T, p *plug, trigger, input string, seed func()) *poller {
	t.Helper()
	seed()
	pl := &poller{p: p, trigger: trigger, input: input}
	if fresh := pl.poll(); len(fresh) != 0 {
		t.Fatalf("first poll reported %v", ids(fresh))
	}
	return pl
}

func wantIDs(t *testing.T, what string, got []provider.Event, want ...string) {
	t.Helper()
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("%s: events %v, want %v", what, g, want)
	}
}

func TestHubSpotContactTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "hubspot", hubspot.New())
	old := ""
	pl := startPoller(t, p, "new_or_updated_contact", `{"properties":["company"]}`, func() {
		old = apps.AddContact(map[string]string{"email": "old@example.com"}, hourAgo())
	})
	if fresh := pl.poll(); len(fresh) != 0 {
		t.Fatalf("nothing changed, got %v", ids(fresh))
	}
	a := apps.AddContact(map[string]string{"email": "a@example.com", "company": "Acme"}, time.Time{})
	b := apps.AddContact(map[string]string{"email": "b@example.com"}, time.Time{})
	fresh := pl.poll()
	if len(fresh) != 2 || !strings.HasPrefix(fresh[0].ID, a+"@") || !strings.HasPrefix(fresh[1].ID, b+"@") {
		t.Fatalf("new contacts: %v (want %s, %s)", ids(fresh), a, b)
	}
	if props := payload(t, fresh[0])["properties"].(map[string]any); props["email"] != "a@example.com" || props["company"] != "Acme" {
		t.Fatalf("payload properties %v", props)
	}
	if fresh := pl.poll(); len(fresh) != 0 {
		t.Fatalf("polled again: %v", ids(fresh))
	}
	// An update of the old contact is an event; the others stay quiet.
	apps.UpdateContact(old, map[string]string{"firstname": "Ada"}, time.Now().Add(time.Second))
	fresh = pl.poll()
	if len(fresh) != 1 || !strings.HasPrefix(fresh[0].ID, old+"@") {
		t.Fatalf("update: %v", ids(fresh))
	}
	// Pages: more new contacts than a search page holds.
	for i := range 150 {
		apps.AddContact(map[string]string{"email": "bulk" + string(rune('a'+i%26)) + "@example.com"}, time.Now().Add(2*time.Second))
	}
	if fresh := pl.poll(); len(fresh) != 150 {
		t.Fatalf("bulk: %d events, want 150", len(fresh))
	}
	// A revoked token fails the poll, and leaves its state alone.
	p.creds.AccessToken = "revoked"
	if _, err := p.call(provider.TriggerOpPoll, "new_or_updated_contact", `{}`, func(c *provider.TriggerCall) { c.State = pl.st.Provider }); err == nil {
		t.Fatal("poll with a bad token succeeded")
	}
}

func TestDriveNewFileTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "google-drive", gdrive.New())
	pl := startPoller(t, p, "new_file_in_folder", `{"folder_id":"F1 'q'"}`, func() {
		apps.AddFile("F1 'q'", "old.pdf", "", hourAgo())
	})
	f := apps.AddFile("F1 'q'", "new.pdf", "", time.Time{})
	apps.AddFile("F2", "elsewhere.pdf", "", time.Time{})
	apps.AddFile("F1 'q'", "sub", "application/vnd.google-apps.folder", time.Time{})
	fresh := pl.poll()
	wantIDs(t, "new files", fresh, f)
	if m := payload(t, fresh[0]); m["name"] != "new.pdf" || m["mimeType"] != "application/pdf" {
		t.Fatalf("payload %v", m)
	}
	wantIDs(t, "again", pl.poll())
	g := apps.AddFile("F1 'q'", "next.pdf", "", time.Time{})
	wantIDs(t, "next file", pl.poll(), g)
}

func TestGmailNewEmailTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "google-mail", gmail.New())
	pl := startPoller(t, p, "new_email", `{"query":"subject:invoice"}`, func() {
		apps.AddMessage("billing@example.com", "me@example.com", "Invoice 41", "old", hourAgo())
	})
	m := apps.AddMessage("Billing <billing@example.com>", "me@example.com", "Invoice 42", "Your invoice", time.Time{})
	apps.AddMessage("friend@example.com", "me@example.com", "Lunch?", "hi", time.Time{})
	fresh := pl.poll()
	wantIDs(t, "matching mail", fresh, m)
	if pm := payload(t, fresh[0]); pm["subject"] != "Invoice 42" || pm["from"] != "Billing <billing@example.com>" || pm["snippet"] != "Your invoice" {
		t.Fatalf("payload %v", pm)
	}
	wantIDs(t, "again", pl.poll())
}

func TestJiraNewIssueTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "jira", jira.New())
	// An hour-old issue is within the JQL's time-zone margin: the exact
	// creation time leaves it out.
	pl := startPoller(t, p, "new_issue", `{"jql":"project = ENG"}`, func() {
		apps.AddIssue("ENG", "Bug", "old", hourAgo())
	})
	id, key := apps.AddIssue("ENG", "Bug", "Crash on start", time.Time{})
	apps.AddIssue("OPS", "Task", "other project", time.Time{})
	fresh := pl.poll()
	wantIDs(t, "new issue", fresh, id)
	if m := payload(t, fresh[0]); m["key"] != key || m["fields"].(map[string]any)["summary"] != "Crash on start" {
		t.Fatalf("payload %v", m)
	}
	wantIDs(t, "again", pl.poll())
	// The site was looked up once and kept in the host store.
	n := 0
	for _, r := range apps.Requests() {
		if strings.HasSuffix(r.Path, "/accessible-resources") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("accessible-resources called %d times", n)
	}
	// A bad JQL is the tenant's to fix.
	if _, err := p.call(provider.TriggerOpPoll, "new_issue", `{"jql":"nonsense ~ 1"}`, func(c *provider.TriggerCall) { c.State = pl.st.Provider }); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("bad JQL: %v", err)
	}
}

func TestNotionUpdatedPageTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "notion", notion.New())
	input := `{"database_id":"` + fakeprovider.NotionDatabase + `"}`
	var old string
	pl := startPoller(t, p, "updated_page_in_database", input, func() {
		old = apps.AddPage(fakeprovider.NotionDatabase, "Old", time.Now().Add(-2*time.Hour))
	})
	pg := apps.AddPage(fakeprovider.NotionDatabase, "Tuscan kale", time.Time{})
	apps.AddPage("f0b1c2d3-0000-4000-8000-00000000beef", "other database", time.Time{})
	fresh := pl.poll()
	if len(fresh) != 1 || !strings.HasPrefix(fresh[0].ID, pg+"@") {
		t.Fatalf("new page: %v", ids(fresh))
	}
	wantIDs(t, "again", pl.poll())
	// An edit a minute later is a new event; Notion's minute grain hides
	// edits within the same minute.
	apps.EditPage(old, "Old, edited", time.Now().Add(time.Minute))
	fresh = pl.poll()
	if len(fresh) != 1 || !strings.HasPrefix(fresh[0].ID, old+"@") {
		t.Fatalf("edited page: %v", ids(fresh))
	}
	// A database not shared with the integration.
	if _, err := p.call(provider.TriggerOpPoll, "updated_page_in_database", `{"database_id":"nope"}`, func(c *provider.TriggerCall) { c.State = pl.st.Provider }); err == nil {
		t.Fatal("unshared database polled")
	}
}
