package fakeprovider

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// notionDatabases are the databases Notion's fake has shared with the
// integration; a query of another one is refused as Notion does.
var notionDatabases = []string{"d9824bdc-8445-4327-be8b-5b47500af6ce", "f0b1c2d3-0000-4000-8000-00000000beef"}

// NotionDatabase is a database shared with Notion's fake integration.
const NotionDatabase = "d9824bdc-8445-4327-be8b-5b47500af6ce"

func (a *Apps) feedRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /hubspot/crm/v3/objects/contacts/search", a.hubspotSearch)
	mux.HandleFunc("GET /google/drive/v3/files", a.driveList)
	mux.HandleFunc("GET /google/gmail/v1/users/me/messages", a.gmailList)
	mux.HandleFunc("GET /google/gmail/v1/users/me/messages/{id}", a.gmailGet)
	mux.HandleFunc("GET /jira/oauth/token/accessible-resources", a.jiraResources)
	mux.HandleFunc("GET /jira/ex/jira/{cloud}/rest/api/3/search/jql", a.jiraSearch)
	mux.HandleFunc("POST /notion/v1/databases/{id}/query", a.notionQuery)

	mux.HandleFunc("POST /_fake/hubspot/contacts", a.controlAdd)
	mux.HandleFunc("PATCH /_fake/hubspot/contacts/{id}", a.controlAdd)
	mux.HandleFunc("POST /_fake/google-drive/files", a.controlAdd)
	mux.HandleFunc("POST /_fake/google-mail/messages", a.controlAdd)
	mux.HandleFunc("POST /_fake/jira/issues", a.controlAdd)
	mux.HandleFunc("POST /_fake/notion/pages", a.controlAdd)
	mux.HandleFunc("PATCH /_fake/notion/pages/{id}", a.controlAdd)
}

func at(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t.UTC()
}

func (a *Apps) add(list *[]*feedItem, it *feedItem) *feedItem {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	it.sortOrder = a.seq
	*list = append(*list, it)
	return it
}

func (a *Apps) find(list []*feedItem, id string) *feedItem {
	for _, it := range list {
		if it.id == id {
			return it
		}
	}
	return nil
}

// AddContact creates a HubSpot contact with properties (email, firstname,
// ...) at t (now when zero) and returns its id.
func (a *Apps) AddContact(props map[string]string, t time.Time) string {
	t = at(t)
	id := strconv.Itoa(500 + a.nextID())
	f := map[string]string{}
	for k, v := range props {
		f[k] = v
	}
	a.add(&a.contacts, &feedItem{id: id, created: t, updated: t, fields: f})
	return id
}

// UpdateContact changes a contact's properties at t (now when zero); it
// reports whether the contact exists.
func (a *Apps) UpdateContact(id string, props map[string]string, t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	it := a.find(a.contacts, id)
	if it == nil {
		return false
	}
	for k, v := range props {
		it.fields[k] = v
	}
	it.updated = at(t)
	return true
}

// AddFile creates a Drive file in folder at t (now when zero) and returns
// its id.
func (a *Apps) AddFile(folder, name, mimeType string, t time.Time) string {
	t = at(t)
	id := fmt.Sprintf("1Fk%06d%s", a.nextID(), randomString(9))
	if mimeType == "" {
		mimeType = "application/pdf"
	}
	a.add(&a.files, &feedItem{id: id, owner: folder, created: t, updated: t, fields: map[string]string{"name": name, "mimeType": mimeType}})
	return id
}

// AddMessage delivers a Gmail message at t (now when zero) and returns its
// id.
func (a *Apps) AddMessage(from, to, subject, snippet string, t time.Time) string {
	t = at(t)
	id := fmt.Sprintf("18c%013x", uint64(t.UnixNano())>>8+uint64(a.nextID()))
	a.add(&a.messages, &feedItem{id: id, created: t, updated: t, fields: map[string]string{"from": from, "to": to, "subject": subject, "snippet": snippet}})
	return id
}

// AddIssue creates a Jira issue in project at t (now when zero) and
// returns its id and key.
func (a *Apps) AddIssue(project, issueType, summary string, t time.Time) (string, string) {
	t = at(t)
	n := a.nextID()
	id, key := strconv.Itoa(10000+n), project+"-"+strconv.Itoa(n)
	if issueType == "" {
		issueType = "Task"
	}
	a.add(&a.issues, &feedItem{id: id, owner: project, created: t, updated: t, fields: map[string]string{"key": key, "summary": summary, "issuetype": issueType}})
	return id, key
}

// AddPage creates a Notion page in database db at t (now when zero) and
// returns its id.
func (a *Apps) AddPage(db, title string, t time.Time) string {
	t = at(t)
	id := fmt.Sprintf("%08x-2cf9-4fdf-8782-%012x", a.nextID(), uint64(t.UnixNano())&0xffffffffffff)
	a.add(&a.pages, &feedItem{id: id, owner: db, created: t, updated: t, fields: map[string]string{"title": title}})
	return id
}

// EditPage changes a Notion page's title at t (now when zero); it reports
// whether the page exists.
func (a *Apps) EditPage(id, title string, t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	it := a.find(a.pages, id)
	if it == nil {
		return false
	}
	it.fields["title"] = title
	it.updated = at(t)
	return true
}

// controlAdd serves the change-feed control routes: a JSON body of string
// fields (and "at", RFC 3339, for a back-dated item); it answers the item's
// id.
func (a *Apps) controlAdd(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if err := readJSON(r, &in); err != nil {
		writeJSON(w, 400, map[string]string{"error": "body must be a JSON object"})
		return
	}
	str := func(k string) string { s, _ := in[k].(string); return s }
	var t time.Time
	if s := str("at"); s != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			writeJSON(w, 400, map[string]string{"error": "at must be an RFC 3339 time"})
			return
		}
	}
	props := map[string]string{}
	if p, ok := in["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = fmt.Sprint(v)
		}
	}
	out := map[string]string{}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/_fake/hubspot/contacts":
		out["id"] = a.AddContact(props, t)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/_fake/hubspot/contacts/"):
		if !a.UpdateContact(r.PathValue("id"), props, t) {
			writeJSON(w, 404, map[string]string{"error": "no such contact"})
			return
		}
		out["id"] = r.PathValue("id")
	case r.URL.Path == "/_fake/google-drive/files":
		out["id"] = a.AddFile(str("folder"), str("name"), str("mime_type"), t)
	case r.URL.Path == "/_fake/google-mail/messages":
		out["id"] = a.AddMessage(str("from"), str("to"), str("subject"), str("snippet"), t)
	case r.URL.Path == "/_fake/jira/issues":
		out["id"], out["key"] = a.AddIssue(str("project"), str("issuetype"), str("summary"), t)
	case r.Method == http.MethodPost && r.URL.Path == "/_fake/notion/pages":
		db := str("database")
		if db == "" {
			db = NotionDatabase
		}
		out["id"] = a.AddPage(db, str("title"), t)
	case r.Method == http.MethodPatch:
		if !a.EditPage(r.PathValue("id"), str("title"), t) {
			writeJSON(w, 404, map[string]string{"error": "no such page"})
			return
		}
		out["id"] = r.PathValue("id")
	}
	writeJSON(w, 200, out)
}

// snapshot copies list under the lock, sorted by sortOrder.
func (a *Apps) snapshot(list *[]*feedItem) []feedItem {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]feedItem, 0, len(*list))
	for _, it := range *list {
		c := *it
		c.fields = map[string]string{}
		for k, v := range it.fields {
			c.fields[k] = v
		}
		out = append(out, c)
	}
	return out
}

// page cuts items at offset (an opaque decimal cursor) to size, and
// returns the next cursor ("" on the last page).
func page[T any](items []T, cursor string, size int) ([]T, string, error) {
	off := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("bad cursor")
		}
		off = n
	}
	if off > len(items) {
		off = len(items)
	}
	end := min(off+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

// HubSpot

func hubspotError(w http.ResponseWriter, status int, category, msg string) {
	writeJSON(w, status, map[string]any{"status": "error", "message": msg, "correlationId": "a43683b0-5717-4ceb-80b4-104d02915d8c", "category": category})
}

func (a *Apps) hubspotSearch(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "hubspot") {
		hubspotError(w, 401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
		return
	}
	var in struct {
		FilterGroups []struct {
			Filters []struct {
				PropertyName string `json:"propertyName"`
				Operator     string `json:"operator"`
				Value        string `json:"value"`
			} `json:"filters"`
		} `json:"filterGroups"`
		Sorts []struct {
			PropertyName string `json:"propertyName"`
			Direction    string `json:"direction"`
		} `json:"sorts"`
		Properties []string `json:"properties"`
		Limit      int      `json:"limit"`
		After      string   `json:"after"`
	}
	if err := readJSON(r, &in); err != nil {
		hubspotError(w, 400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
		return
	}
	if in.Limit == 0 {
		in.Limit = 10
	}
	if in.Limit > 200 {
		hubspotError(w, 400, "VALIDATION_ERROR", "There was a problem with the request. limit must be at most 200")
		return
	}
	value := func(it feedItem, prop string) (int64, string, bool) {
		switch prop {
		case "createdate":
			return it.created.UnixMilli(), "", true
		case "lastmodifieddate", "hs_lastmodifieddate":
			return it.updated.UnixMilli(), "", true
		}
		return 0, it.fields[prop], false
	}
	all := a.snapshot(&a.contacts)
	var keep []feedItem
	for _, it := range all {
		ok := len(in.FilterGroups) == 0
		for _, g := range in.FilterGroups { // groups are ORed, filters ANDed
			all := true
			for _, f := range g.Filters {
				n, s, isDate := value(it, f.PropertyName)
				if isDate {
					v, err := strconv.ParseInt(f.Value, 10, 64)
					if err != nil {
						hubspotError(w, 400, "VALIDATION_ERROR", "There was a problem with the request. "+f.PropertyName+" must be a timestamp in milliseconds")
						return
					}
					all = all && map[string]bool{"GTE": n >= v, "GT": n > v, "LTE": n <= v, "LT": n < v, "EQ": n == v, "NEQ": n != v}[f.Operator]
				} else {
					all = all && map[string]bool{"EQ": s == f.Value, "NEQ": s != f.Value, "CONTAINS_TOKEN": strings.Contains(s, f.Value)}[f.Operator]
				}
			}
			ok = ok || all
		}
		if ok {
			keep = append(keep, it)
		}
	}
	if len(in.Sorts) > 0 {
		s := in.Sorts[0]
		sort.SliceStable(keep, func(i, j int) bool {
			a, _, _ := value(keep[i], s.PropertyName)
			b, _, _ := value(keep[j], s.PropertyName)
			if s.Direction == "DESCENDING" {
				return a > b
			}
			return a < b
		})
	}
	if len(keep) > 10000 {
		keep = keep[:10000] // the search API's ceiling
	}
	pg, next, err := page(keep, in.After, in.Limit)
	if err != nil {
		hubspotError(w, 400, "VALIDATION_ERROR", "There was a problem with the request. after is not valid")
		return
	}
	results := make([]map[string]any, 0, len(pg))
	for _, it := range pg {
		props := map[string]any{"createdate": it.created.Format("2006-01-02T15:04:05.000Z"),
			"lastmodifieddate": it.updated.Format("2006-01-02T15:04:05.000Z"), "hs_object_id": it.id}
		for _, p := range append([]string{"email", "firstname", "lastname"}, in.Properties...) {
			if _, set := props[p]; !set {
				if v, ok := it.fields[p]; ok {
					props[p] = v
				} else {
					props[p] = nil
				}
			}
		}
		results = append(results, map[string]any{"id": it.id, "properties": props,
			"createdAt": it.created.Format("2006-01-02T15:04:05.000Z"), "updatedAt": it.updated.Format("2006-01-02T15:04:05.000Z"), "archived": false})
	}
	body := map[string]any{"total": len(keep), "results": results}
	if next != "" {
		body["paging"] = map[string]any{"next": map[string]string{"after": next, "link": "?after=" + next}}
	}
	writeJSON(w, 200, body)
}

// Google

func googleError(w http.ResponseWriter, status int, reason, msg, location string) {
	st := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND"}[status]
	e := map[string]any{"message": msg, "domain": "global", "reason": reason}
	if location != "" {
		e["location"], e["locationType"] = location, "parameter"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "errors": []any{e}, "status": st}})
}

// driveQuery is one parsed files.list q: the clauses the fake
// understands, joined by "and".
type driveQuery struct {
	parent, notMime string
	trashed         *bool
	createdMin      time.Time
	createdOp       string
}

// splitQuery splits s on the word "and" outside single-quoted literals.
func splitQuery(s string) []string {
	var parts []string
	var cur strings.Builder
	inQ := false
	words := strings.Fields(s)
	for _, wd := range words {
		if !inQ && strings.EqualFold(wd, "and") {
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		for i := 0; i < len(wd); i++ {
			if wd[i] == '\\' {
				i++
				continue
			}
			if wd[i] == '\'' {
				inQ = !inQ
			}
		}
		cur.WriteString(wd + " ")
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

func unquote(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

func parseDriveQuery(q string) (driveQuery, error) {
	var dq driveQuery
	if strings.TrimSpace(q) == "" {
		return dq, nil
	}
	for _, c := range splitQuery(q) {
		switch {
		case strings.HasSuffix(c, " in parents"):
			v, ok := unquote(strings.TrimSuffix(c, " in parents"))
			if !ok {
				return dq, fmt.Errorf("bad parents clause")
			}
			dq.parent = v
		case c == "trashed = false" || c == "trashed = true":
			b := c == "trashed = true"
			dq.trashed = &b
		case strings.HasPrefix(c, "mimeType != "):
			v, ok := unquote(strings.TrimPrefix(c, "mimeType != "))
			if !ok {
				return dq, fmt.Errorf("bad mimeType clause")
			}
			dq.notMime = v
		case strings.HasPrefix(c, "createdTime "):
			op, lit, _ := strings.Cut(strings.TrimPrefix(c, "createdTime "), " ")
			v, ok := unquote(lit)
			t, err := time.Parse(time.RFC3339, v)
			if !ok || err != nil || (op != ">" && op != ">=") {
				return dq, fmt.Errorf("bad createdTime clause")
			}
			dq.createdMin, dq.createdOp = t, op
		default:
			return dq, fmt.Errorf("unsupported clause %q", c)
		}
	}
	return dq, nil
}

func (a *Apps) driveList(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "google-drive") {
		googleError(w, 401, "authError", "Request had invalid authentication credentials.", "Authorization")
		return
	}
	q := r.URL.Query()
	dq, err := parseDriveQuery(q.Get("q"))
	if err != nil {
		googleError(w, 400, "invalid", "Invalid Value", "q")
		return
	}
	size := 100
	if s := q.Get("pageSize"); s != "" {
		if size, err = strconv.Atoi(s); err != nil || size < 1 || size > 1000 {
			googleError(w, 400, "invalid", "Invalid value for pageSize", "pageSize")
			return
		}
	}
	var keep []feedItem
	for _, it := range a.snapshot(&a.files) {
		// Drive compares times to the second.
		ct := it.created.Truncate(time.Second)
		switch {
		case dq.parent != "" && it.owner != dq.parent,
			dq.trashed != nil && it.trashed != *dq.trashed,
			dq.notMime != "" && it.fields["mimeType"] == dq.notMime,
			dq.createdOp == ">=" && ct.Before(dq.createdMin),
			dq.createdOp == ">" && !ct.After(dq.createdMin):
			continue
		}
		keep = append(keep, it)
	}
	switch q.Get("orderBy") {
	case "createdTime":
		sort.SliceStable(keep, func(i, j int) bool { return keep[i].created.Before(keep[j].created) })
	case "createdTime desc":
		sort.SliceStable(keep, func(i, j int) bool { return keep[i].created.After(keep[j].created) })
	case "":
	default:
		googleError(w, 400, "invalid", "Invalid Value", "orderBy")
		return
	}
	pg, next, err := page(keep, q.Get("pageToken"), size)
	if err != nil {
		googleError(w, 400, "invalid", "Invalid Value", "pageToken")
		return
	}
	files := make([]map[string]any, 0, len(pg))
	for _, it := range pg {
		files = append(files, map[string]any{"kind": "drive#file", "id": it.id, "name": it.fields["name"], "mimeType": it.fields["mimeType"],
			"createdTime": it.created.Format("2006-01-02T15:04:05.000Z"), "modifiedTime": it.updated.Format("2006-01-02T15:04:05.000Z"),
			"parents": []string{it.owner}, "size": "48213", "webViewLink": "https://drive.google.com/file/d/" + it.id + "/view"})
	}
	body := map[string]any{"kind": "drive#fileList", "incompleteSearch": false, "files": files}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, 200, body)
}

// gmailMatch reports whether a message matches a Gmail search query of
// the forms the fake understands: after:/before: (Unix seconds or
// yyyy/mm/dd), from:, to:, subject: and bare words, parentheses ignored.
func gmailMatch(it feedItem, q string) (bool, error) {
	q = strings.NewReplacer("(", " ", ")", " ").Replace(q)
	for _, tok := range strings.Fields(q) {
		k, v, hasOp := strings.Cut(tok, ":")
		v = strings.ToLower(strings.Trim(v, `"`))
		if !hasOp {
			v = strings.ToLower(strings.Trim(tok, `"`))
			all := strings.ToLower(it.fields["subject"] + " " + it.fields["snippet"] + " " + it.fields["from"])
			if !strings.Contains(all, v) {
				return false, nil
			}
			continue
		}
		switch k {
		case "after", "before":
			var t time.Time
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				t = time.Unix(n, 0)
			} else if t, err = time.Parse("2006/01/02", v); err != nil {
				return false, fmt.Errorf("bad %s: value", k)
			}
			if (k == "after" && it.created.Before(t)) || (k == "before" && !it.created.Before(t)) {
				return false, nil
			}
		case "from", "to", "subject":
			if !strings.Contains(strings.ToLower(it.fields[k]), v) {
				return false, nil
			}
		case "in", "label", "is":
			// Every fake message is in the inbox, unread.
			if v != "inbox" && v != "unread" {
				return false, nil
			}
		default:
			return false, fmt.Errorf("unsupported operator %s:", k)
		}
	}
	return true, nil
}

func (a *Apps) gmailList(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "google-mail") {
		googleError(w, 401, "authError", "Request had invalid authentication credentials.", "Authorization")
		return
	}
	q := r.URL.Query()
	size := 100
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			googleError(w, 400, "invalidArgument", "Invalid maxResults", "maxResults")
			return
		}
		size = n
	}
	var keep []feedItem
	for _, it := range a.snapshot(&a.messages) {
		ok, err := gmailMatch(it, q.Get("q"))
		if err != nil {
			googleError(w, 400, "invalidArgument", "Invalid query", "q")
			return
		}
		if ok {
			keep = append(keep, it)
		}
	}
	// Newest first, ids only.
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].created.After(keep[j].created) })
	pg, next, err := page(keep, q.Get("pageToken"), size)
	if err != nil {
		googleError(w, 400, "invalidArgument", "Invalid pageToken", "pageToken")
		return
	}
	msgs := make([]map[string]string, 0, len(pg))
	for _, it := range pg {
		msgs = append(msgs, map[string]string{"id": it.id, "threadId": it.id})
	}
	body := map[string]any{"resultSizeEstimate": len(keep)}
	if len(msgs) > 0 {
		body["messages"] = msgs // Gmail leaves the field out of an empty list
	}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, 200, body)
}

func (a *Apps) gmailGet(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "google-mail") {
		googleError(w, 401, "authError", "Request had invalid authentication credentials.", "Authorization")
		return
	}
	a.mu.Lock()
	p := a.find(a.messages, r.PathValue("id"))
	var it feedItem
	if p != nil {
		it = *p
	}
	a.mu.Unlock()
	if p == nil {
		googleError(w, 404, "notFound", "Requested entity was not found.", "")
		return
	}
	q := r.URL.Query()
	headers := []map[string]string{}
	all := map[string]string{"From": it.fields["from"], "To": it.fields["to"], "Subject": it.fields["subject"],
		"Date": it.created.Format("Mon, 02 Jan 2006 15:04:05 -0700")}
	want := q["metadataHeaders"]
	for _, name := range []string{"From", "To", "Subject", "Date"} {
		if q.Get("format") == "metadata" && len(want) > 0 && !containsFold(want, name) {
			continue
		}
		headers = append(headers, map[string]string{"name": name, "value": all[name]})
	}
	writeJSON(w, 200, map[string]any{"id": it.id, "threadId": it.id, "labelIds": []string{"INBOX", "UNREAD"},
		"snippet": it.fields["snippet"], "sizeEstimate": 2048, "historyId": "4242",
		"internalDate": strconv.FormatInt(it.created.UnixMilli(), 10),
		"payload":      map[string]any{"mimeType": "text/plain", "headers": headers}})
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Jira

func (a *Apps) jiraResources(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "jira") {
		writeJSON(w, 401, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	writeJSON(w, 200, []map[string]any{{"id": a.JiraCloudID, "url": "https://acme.atlassian.net", "name": "acme",
		"scopes": []string{"read:jira-work", "write:jira-work"}, "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"}})
}

// jqlQuery is one parsed JQL query: the clauses the fake understands,
// joined by AND, with an ORDER BY on created.
type jqlQuery struct {
	project, issueType string
	createdMin         time.Time
	desc               bool
}

func parseJQL(jql string, zone *time.Location) (jqlQuery, error) {
	var q jqlQuery
	s := jql
	if i := strings.Index(strings.ToUpper(s), " ORDER BY "); i >= 0 {
		order := strings.Fields(strings.ToLower(s[i+len(" ORDER BY "):]))
		if len(order) == 0 || order[0] != "created" || (len(order) > 1 && order[1] != "asc" && order[1] != "desc") {
			return q, fmt.Errorf("the fake orders by created only")
		}
		q.desc = len(order) > 1 && order[1] == "desc"
		s = s[:i]
	}
	s = strings.NewReplacer("(", " ", ")", " ").Replace(s)
	for _, c := range strings.Split(s, " AND ") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		field, rest, ok := strings.Cut(c, " ")
		if !ok {
			return q, fmt.Errorf("Error in the JQL Query: Expecting operator but got the end of the query.")
		}
		op, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		switch strings.ToLower(field) {
		case "project":
			q.project = val
		case "issuetype":
			q.issueType = val
		case "created":
			// A date and time to the minute, read in the user's zone.
			t, err := time.ParseInLocation("2006/01/02 15:04", val, zone)
			if err != nil {
				if t, err = time.ParseInLocation("2006-01-02 15:04", val, zone); err != nil {
					return q, fmt.Errorf("Date value '%s' for field 'created' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", val)
				}
			}
			if op != ">=" {
				return q, fmt.Errorf("the fake supports created >= only")
			}
			q.createdMin = t
		default:
			return q, fmt.Errorf("Field '%s' does not exist or you do not have permission to view it.", field)
		}
		if op != "=" && strings.ToLower(field) != "created" {
			return q, fmt.Errorf("the fake supports = on %s only", field)
		}
	}
	return q, nil
}

func (a *Apps) jiraSearch(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "jira") {
		writeJSON(w, 401, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	if r.PathValue("cloud") != a.JiraCloudID {
		writeJSON(w, 404, map[string]any{"code": 404, "message": "Not Found"})
		return
	}
	qs := r.URL.Query()
	jq, err := parseJQL(qs.Get("jql"), a.JiraZone)
	if err != nil {
		writeJSON(w, 400, map[string]any{"errorMessages": []string{err.Error()}, "errors": map[string]string{}, "warningMessages": []string{}})
		return
	}
	size := 50
	if s := qs.Get("maxResults"); s != "" {
		if size, err = strconv.Atoi(s); err != nil || size < 1 {
			writeJSON(w, 400, map[string]any{"errorMessages": []string{"maxResults must be a positive number"}, "errors": map[string]string{}})
			return
		}
		size = min(size, 5000)
	}
	var keep []feedItem
	for _, it := range a.snapshot(&a.issues) {
		if (jq.project != "" && it.owner != jq.project) || (jq.issueType != "" && it.fields["issuetype"] != jq.issueType) ||
			(!jq.createdMin.IsZero() && it.created.Truncate(time.Minute).Before(jq.createdMin)) {
			continue
		}
		keep = append(keep, it)
	}
	sort.SliceStable(keep, func(i, j int) bool {
		if jq.desc {
			return keep[i].created.After(keep[j].created)
		}
		return keep[i].created.Before(keep[j].created)
	})
	pg, next, err := page(keep, qs.Get("nextPageToken"), size)
	if err != nil {
		writeJSON(w, 400, map[string]any{"errorMessages": []string{"The provided next page token is invalid or expired."}, "errors": map[string]string{}})
		return
	}
	issues := make([]map[string]any, 0, len(pg))
	for _, it := range pg {
		created := it.created.In(a.JiraZone).Format("2006-01-02T15:04:05.000-0700")
		issues = append(issues, map[string]any{"id": it.id, "key": it.fields["key"],
			"self": a.URL + "/jira/ex/jira/" + a.JiraCloudID + "/rest/api/3/issue/" + it.id,
			"fields": map[string]any{"summary": it.fields["summary"], "issuetype": map[string]string{"name": it.fields["issuetype"]},
				"project": map[string]string{"key": it.owner}, "status": map[string]string{"name": "To Do"},
				"created": created, "updated": created, "labels": []string{}}})
	}
	body := map[string]any{"issues": issues, "isLast": next == ""}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, 200, body)
}

// Notion

func notionError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"object": "error", "status": status, "code": code, "message": msg, "request_id": "c2cb8a40-0000-4000-8000-000000000000"})
}

func (a *Apps) notionQuery(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "notion") {
		notionError(w, 401, "unauthorized", "API token is invalid.")
		return
	}
	if r.Header.Get("Notion-Version") == "" {
		notionError(w, 400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.")
		return
	}
	db := r.PathValue("id")
	known := false
	for _, d := range notionDatabases {
		known = known || d == db || strings.ReplaceAll(d, "-", "") == db
	}
	if !known {
		notionError(w, 404, "object_not_found", "Could not find database with ID: "+db+". Make sure the relevant pages and databases are shared with your integration.")
		return
	}
	var in struct {
		Filter struct {
			Timestamp      string `json:"timestamp"`
			LastEditedTime struct {
				OnOrAfter string `json:"on_or_after"`
				After     string `json:"after"`
			} `json:"last_edited_time"`
		} `json:"filter"`
		Sorts []struct {
			Timestamp string `json:"timestamp"`
			Direction string `json:"direction"`
		} `json:"sorts"`
		PageSize    int    `json:"page_size"`
		StartCursor string `json:"start_cursor"`
	}
	if err := readJSON(r, &in); err != nil {
		notionError(w, 400, "invalid_json", "Error parsing JSON body.")
		return
	}
	if in.PageSize == 0 {
		in.PageSize = 100
	}
	if in.PageSize > 100 {
		notionError(w, 400, "validation_error", "body failed validation: body.page_size should be ≤ `100`, instead was `"+strconv.Itoa(in.PageSize)+"`.")
		return
	}
	var min time.Time
	strict := false
	if in.Filter.Timestamp == "last_edited_time" {
		v := in.Filter.LastEditedTime.OnOrAfter
		if v == "" {
			v, strict = in.Filter.LastEditedTime.After, true
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			notionError(w, 400, "validation_error", "body failed validation: body.filter.last_edited_time should be a valid ISO 8601 date string.")
			return
		}
		min = t
	}
	var keep []feedItem
	for _, it := range a.snapshot(&a.pages) {
		// Notion rounds last_edited_time down to the minute, in filters
		// as in results.
		it.updated = it.updated.Truncate(time.Minute)
		it.created = it.created.Truncate(time.Minute)
		if it.owner != db && strings.ReplaceAll(it.owner, "-", "") != db {
			continue
		}
		if !min.IsZero() && (it.updated.Before(min) || (strict && it.updated.Equal(min))) {
			continue
		}
		keep = append(keep, it)
	}
	if len(in.Sorts) > 0 && in.Sorts[0].Timestamp == "last_edited_time" {
		desc := in.Sorts[0].Direction == "descending"
		sort.SliceStable(keep, func(i, j int) bool {
			if desc {
				return keep[i].updated.After(keep[j].updated)
			}
			return keep[i].updated.Before(keep[j].updated)
		})
	}
	pg, next, err := page(keep, in.StartCursor, in.PageSize)
	if err != nil {
		notionError(w, 400, "validation_error", "body failed validation: body.start_cursor should be a valid uuid.")
		return
	}
	results := make([]map[string]any, 0, len(pg))
	for _, it := range pg {
		results = append(results, map[string]any{"object": "page", "id": it.id,
			"created_time": it.created.Format("2006-01-02T15:04:05.000Z"), "last_edited_time": it.updated.Format("2006-01-02T15:04:05.000Z"),
			"archived": false, "in_trash": false, "parent": map[string]string{"type": "database_id", "database_id": db},
			"properties": map[string]any{"Name": map[string]any{"id": "title", "type": "title",
				"title": []any{map[string]any{"type": "text", "plain_text": it.fields["title"], "text": map[string]any{"content": it.fields["title"]}}}}},
			"url": "https://www.notion.so/" + strings.ReplaceAll(it.id, "-", "")})
	}
	body := map[string]any{"object": "list", "results": results, "has_more": next != "", "type": "page_or_database", "page_or_database": map[string]any{}}
	if next != "" {
		body["next_cursor"] = next
	} else {
		body["next_cursor"] = nil
	}
	writeJSON(w, 200, body)
}
