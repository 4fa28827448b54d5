package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
)

const acmeYAML = `id: acme-crm
name: Acme CRM
categories: [crm]
auth:
  kind: api_key
  api_key_in: header
  api_key_name: X-Acme-Key
  credential_fields: [apiKey]
api:
  base_url: https://api.acme.test
connectable: true
`

const slackOverride = `{"id":"slack","name":"Slack (internal proxy)","categories":["communication"],
"auth":{"kind":"oauth2","authorization_url":"https://slack.internal/oauth","token_url":"https://slack.internal/token"},
"api":{"base_url":"https://slack.internal/api"},"connectable":true}`

const brokenJSON = `{"id":"broken","name":"Broken","categories":["crm"],"auth":{"kind":"oauth2","scopez":["x"]},"api":{},"connectable":false,"not_connectable_reason":"r"}`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCustomDirOnLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "acme.yaml", acmeYAML)
	write(t, dir, "slack.json", slackOverride)
	write(t, dir, "notes.txt", "not a descriptor")
	base := load(t)
	c, err := catalog.Load(catalog.Options{CustomDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != base.Len()+1 {
		t.Errorf("Len = %d, want %d", c.Len(), base.Len()+1)
	}
	acme, ok := c.Get("acme-crm")
	if !ok || acme.Source != "custom" || acme.Implementations[0] != catalog.ImplGeneric {
		t.Fatalf("acme-crm = %+v", acme)
	}
	slack, _ := c.Get("slack")
	if slack.Name != "Slack (internal proxy)" || slack.Source != "custom" {
		t.Errorf("slack not overridden: %+v", slack)
	}
	if slack.Implementations[0] != catalog.ImplNative {
		t.Errorf("overridden slack lost its native implementation: %v", slack.Implementations)
	}
	if p := c.Search(catalog.Query{Q: "acme"}); len(p.Items) == 0 || p.Items[0].ID != "acme-crm" {
		t.Errorf("custom entry not searchable: %v", ids(p.Items))
	}
	// The base snapshot is untouched.
	if s, _ := base.Get("slack"); s.Name != "Slack" {
		t.Errorf("base snapshot changed: %s", s.Name)
	}
}

func TestCustomDirBrokenFileRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "acme.yaml", acmeYAML)
	write(t, dir, "broken.json", brokenJSON)
	_, err := catalog.Load(catalog.Options{CustomDir: dir})
	assertFieldError(t, err, "broken.json", "auth.scopez")
	_, err = catalog.NewWatcher(catalog.Options{CustomDir: dir}, nil, nil)
	assertFieldError(t, err, "broken.json", "auth.scopez")

	dup := t.TempDir()
	write(t, dup, "a.yaml", acmeYAML)
	write(t, dup, "b.yaml", acmeYAML)
	_, err = catalog.Load(catalog.Options{CustomDir: dup})
	assertFieldError(t, err, "b.yaml", "id")
}

func assertFieldError(t *testing.T, err error, file, field string) {
	t.Helper()
	var fe *catalog.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FieldError", err)
	}
	if filepath.Base(fe.File) != file || fe.Field != field {
		t.Fatalf("error %q: file %q field %q, want %s %s", err, fe.File, fe.Field, file, field)
	}
}

// waitFor polls cond with a generous deadline: file events may be slow on
// a loaded machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatcherReloadsCustomDir(t *testing.T) {
	dir := t.TempDir()
	changes := make(chan *catalog.Catalog, 16)
	errs := make(chan error, 16)
	w, err := catalog.NewWatcher(catalog.Options{CustomDir: dir},
		func(c *catalog.Catalog) { changes <- c },
		func(err error) { errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	baseLen := w.Current().Len()

	write(t, dir, "acme.yaml", acmeYAML)
	waitFor(t, "acme-crm in the catalog", func() bool { _, ok := w.Current().Get("acme-crm"); return ok })
	select {
	case c := <-changes:
		if _, ok := c.Get("acme-crm"); !ok {
			t.Error("onChange snapshot lacks acme-crm")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("onChange not called")
	}

	// A broken file changes nothing and is reported with file and field.
	good := w.Current()
	write(t, dir, "broken.json", brokenJSON)
	select {
	case err := <-errs:
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || !strings.HasSuffix(fe.File, "broken.json") || fe.Field != "auth.scopez" {
			t.Errorf("onError got %v, want broken.json auth.scopez", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("onError not called for a broken file")
	}
	if w.Current() != good {
		t.Error("a broken file replaced the snapshot")
	}

	// Removing the broken file and the custom entry restores the base.
	if err := os.Remove(filepath.Join(dir, "broken.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "acme.yaml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "acme-crm removed", func() bool { _, ok := w.Current().Get("acme-crm"); return !ok })
	if w.Current().Len() != baseLen {
		t.Errorf("Len = %d after removal, want %d", w.Current().Len(), baseLen)
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
	if err := w.Close(); err != nil {
		t.Error("second Close:", err)
	}
}

func TestWatcherWithoutCustomDir(t *testing.T) {
	w, err := catalog.NewWatcher(catalog.Options{Demo: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, ok := w.Current().Get("demo"); !ok {
		t.Error("demo missing")
	}
}
