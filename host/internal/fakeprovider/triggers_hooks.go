package fakeprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// shopifyTopics are the order topics Shopify's fake accepts.
var shopifyTopics = []string{"orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled", "orders/cancelled", "orders/delete"}

// githubEvents are the events GitHub's fake accepts for a hook.
var githubEvents = []string{"issues", "pull_request", "push", "issue_comment", "release", "*"}

func (a *Apps) hookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /stripe/v1/webhook_endpoints", a.stripeCreate)
	mux.HandleFunc("DELETE /stripe/v1/webhook_endpoints/{id}", a.stripeDelete)
	mux.HandleFunc("POST /github/repos/{owner}/{repo}/hooks", a.githubCreate)
	mux.HandleFunc("DELETE /github/repos/{owner}/{repo}/hooks/{id}", a.githubDelete)
	mux.HandleFunc("POST /shopify/admin/api/{version}/webhooks.json", a.shopifyCreate)
	mux.HandleFunc("DELETE /shopify/admin/api/{version}/webhooks/{file}", a.shopifyDelete)
	mux.HandleFunc("POST /linear/graphql", a.linearGraphQL)
	mux.HandleFunc("POST /_fake/{provider}/emit", a.handleEmit)
	mux.HandleFunc("POST /_fake/slack/request-url", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL string `json:"url"`
		}
		if err := readJSON(r, &in); err != nil || in.URL == "" {
			writeJSON(w, 400, map[string]string{"error": "body must be {\"url\": ...}"})
			return
		}
		if err := a.SetSlackRequestURL(in.URL); err != nil {
			writeJSON(w, 409, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]bool{"ok": true})
	})
}

func (a *Apps) addHook(h *Hook) *Hook {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hooks = append(a.hooks, h)
	return h
}

// deleteHook marks the live hook of provider with id deleted, and answers
// whether there was one.
func (a *Apps) deleteHook(provider, id string, match func(*Hook) bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, h := range a.hooks {
		if h.Provider == provider && h.ID == id && !h.Deleted && (match == nil || match(h)) {
			h.Deleted = true
			return true
		}
	}
	return false
}

// Stripe

func stripeError(w http.ResponseWriter, status int, code, msg, param string) {
	e := map[string]string{"type": "invalid_request_error", "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (a *Apps) stripeCreate(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "stripe") {
		stripeError(w, 401, "", "Invalid API Key provided.", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		stripeError(w, 400, "", "Invalid request body.", "")
		return
	}
	u := r.PostForm.Get("url")
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		stripeError(w, 400, "url_invalid", "Invalid URL: "+u, "url")
		return
	}
	events := r.PostForm["enabled_events[]"]
	if len(events) == 0 {
		stripeError(w, 400, "parameter_missing", "Missing required param: enabled_events.", "enabled_events")
		return
	}
	for _, e := range events {
		if e != "*" && !strings.Contains(e, ".") {
			stripeError(w, 400, "", "Invalid enabled_events[0]: must be one of the event types", "enabled_events")
			return
		}
	}
	h := a.addHook(&Hook{Provider: "stripe", ID: "we_" + randomString(12), URL: u, Secret: "whsec_" + randomString(24), Events: events})
	writeJSON(w, 200, map[string]any{"id": h.ID, "object": "webhook_endpoint", "url": u, "enabled_events": events,
		"secret": h.Secret, "status": "enabled", "api_version": r.PostForm.Get("api_version"),
		"description": r.PostForm.Get("description"), "created": time.Now().Unix(), "livemode": false})
}

func (a *Apps) stripeDelete(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "stripe") {
		stripeError(w, 401, "", "Invalid API Key provided.", "")
		return
	}
	id := r.PathValue("id")
	if !a.deleteHook("stripe", id, nil) {
		stripeError(w, 404, "resource_missing", "No such webhook endpoint: '"+id+"'", "id")
		return
	}
	writeJSON(w, 200, map[string]any{"id": id, "object": "webhook_endpoint", "deleted": true})
}

// StripeEvent builds the deliveries of one Stripe event of type typ about
// object to every endpoint enabled for it: the same evt_… id for all,
// each signed with its endpoint's secret.
func (a *Apps) StripeEvent(typ string, object any, o EmitOptions) []Delivery {
	id := fmt.Sprintf("evt_%d%s", a.nextID(), randomString(8))
	created := time.Now().Unix()
	body, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "created": created,
		"api_version": "2024-06-20", "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object}, "request": map[string]any{"id": nil, "idempotency_key": nil}})
	var out []Delivery
	for _, h := range a.activeHooks("stripe", func(h *Hook) bool { return slices.Contains(h.Events, "*") || slices.Contains(h.Events, typ) }) {
		ts := strconv.FormatInt(signedAt(o).Unix(), 10)
		hd := jsonHeader()
		hd.Set("Stripe-Signature", "t="+ts+",v1="+hmacHex(forged(h.Secret, o), ts, ".", string(body)))
		hd.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
		out = append(out, Delivery{URL: h.URL, Header: hd, Body: body})
	}
	return out
}

// GitHub

func githubError(w http.ResponseWriter, status int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest/repos/webhooks", "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

func (a *Apps) githubCreate(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "github") {
		githubError(w, 401, "Bad credentials")
		return
	}
	var in struct {
		Name   string   `json:"name"`
		Active *bool    `json:"active"`
		Events []string `json:"events"`
		Config struct {
			URL         string `json:"url"`
			ContentType string `json:"content_type"`
			Secret      string `json:"secret"`
			InsecureSSL string `json:"insecure_ssl"`
		} `json:"config"`
	}
	if err := readJSON(r, &in); err != nil {
		githubError(w, 400, "Problems parsing JSON")
		return
	}
	if in.Config.URL == "" {
		githubError(w, 422, "Validation Failed", map[string]string{"resource": "Hook", "code": "custom", "message": "Config must contain URL for webhooks"})
		return
	}
	if len(in.Events) == 0 {
		in.Events = []string{"push"}
	}
	for _, e := range in.Events {
		if !slices.Contains(githubEvents, e) {
			githubError(w, 422, "Validation Failed", map[string]string{"resource": "Hook", "code": "custom", "message": e + " is not a valid event name"})
			return
		}
	}
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if len(a.activeHooks("github", func(h *Hook) bool { return h.Repo == repo && h.URL == in.Config.URL })) > 0 {
		githubError(w, 422, "Validation Failed", map[string]string{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"})
		return
	}
	id := 400000000 + a.nextID()
	h := a.addHook(&Hook{Provider: "github", ID: strconv.Itoa(id), URL: in.Config.URL, Secret: in.Config.Secret, Events: in.Events, Repo: repo})
	cfg := map[string]string{"url": in.Config.URL, "content_type": in.Config.ContentType, "insecure_ssl": in.Config.InsecureSSL}
	if in.Config.Secret != "" {
		cfg["secret"] = "********"
	}
	writeJSON(w, 201, map[string]any{"type": "Repository", "id": id, "name": "web", "active": in.Active == nil || *in.Active,
		"events": in.Events, "config": cfg, "created_at": time.Now().UTC().Format(time.RFC3339),
		"url": a.URL + "/github/repos/" + repo + "/hooks/" + h.ID})
	// GitHub pings a new hook at once, before the creator has stored it.
	ping, _ := json.Marshal(map[string]any{"zen": "Keep it logically awesome.", "hook_id": id,
		"hook":       map[string]any{"type": "Repository", "id": id, "events": in.Events, "active": true},
		"repository": map[string]any{"full_name": repo}})
	d := a.githubDelivery(*h, "ping", ping, EmitOptions{})
	go a.deliver(d)
}

func (a *Apps) githubDelete(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "github") {
		githubError(w, 401, "Bad credentials")
		return
	}
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !a.deleteHook("github", r.PathValue("id"), func(h *Hook) bool { return h.Repo == repo }) {
		githubError(w, 404, "Not Found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Apps) githubDelivery(h Hook, event string, body []byte, o EmitOptions) Delivery {
	hd := jsonHeader()
	hd.Set("User-Agent", "GitHub-Hookshot/fake")
	hd.Set("X-GitHub-Event", event)
	hd.Set("X-GitHub-Delivery", fmt.Sprintf("%08x-0000-11ee-8000-%012x", a.nextID(), time.Now().UnixNano()&0xffffffffffff))
	hd.Set("X-GitHub-Hook-ID", h.ID)
	hd.Set("X-Hub-Signature-256", "sha256="+hmacHex(forged(h.Secret, o), string(body)))
	return Delivery{URL: h.URL, Header: hd, Body: body}
}

// GitHubEvent builds the deliveries of one GitHub event (issues,
// pull_request, push) on repo ("owner/name") with payload to every hook
// of the repository subscribed to it.
func (a *Apps) GitHubEvent(repo, event string, payload map[string]any, o EmitOptions) []Delivery {
	p := map[string]any{"repository": map[string]any{"id": 1296269, "full_name": repo, "name": repo[strings.IndexByte(repo, '/')+1:]},
		"sender": map[string]any{"login": "octocat", "id": 1}}
	for k, v := range payload {
		p[k] = v
	}
	body, _ := json.Marshal(p)
	var out []Delivery
	for _, h := range a.activeHooks("github", func(h *Hook) bool {
		return h.Repo == repo && (slices.Contains(h.Events, event) || slices.Contains(h.Events, "*"))
	}) {
		out = append(out, a.githubDelivery(h, event, body, o))
	}
	return out
}

// Shopify

func (a *Apps) shopifyCreate(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "shopify") {
		writeJSON(w, 401, map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	var in struct {
		Webhook struct {
			Topic   string `json:"topic"`
			Address string `json:"address"`
			Format  string `json:"format"`
		} `json:"webhook"`
	}
	if err := readJSON(r, &in); err != nil {
		writeJSON(w, 400, map[string]any{"errors": map[string]string{"webhook": "Required parameter missing or invalid"}})
		return
	}
	wh := in.Webhook
	switch {
	case !slices.Contains(shopifyTopics, wh.Topic):
		writeJSON(w, 422, map[string]any{"errors": map[string][]string{"topic": {"Invalid topic specified: " + wh.Topic}}})
		return
	case wh.Address == "":
		writeJSON(w, 422, map[string]any{"errors": map[string][]string{"address": {"can't be blank"}}})
		return
	}
	if len(a.activeHooks("shopify", func(h *Hook) bool { return h.URL == wh.Address && h.Events[0] == wh.Topic })) > 0 {
		writeJSON(w, 422, map[string]any{"errors": map[string][]string{"address": {"for this topic has already been taken"}}})
		return
	}
	id := 1000000000 + a.nextID()
	a.addHook(&Hook{Provider: "shopify", ID: strconv.Itoa(id), URL: wh.Address, Events: []string{wh.Topic}})
	now := time.Now().Format(time.RFC3339)
	writeJSON(w, 201, map[string]any{"webhook": map[string]any{"id": id, "address": wh.Address, "topic": wh.Topic,
		"created_at": now, "updated_at": now, "format": "json", "fields": []string{}, "metafield_namespaces": []string{},
		"api_version": r.PathValue("version")}})
}

func (a *Apps) shopifyDelete(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "shopify") {
		writeJSON(w, 401, map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || !a.deleteHook("shopify", id, nil) {
		writeJSON(w, 404, map[string]string{"errors": "Not Found"})
		return
	}
	writeJSON(w, 200, map[string]any{})
}

// ShopifyOrder builds the deliveries of one order event of topic to every
// subscription of the topic, signed with ShopifySecret. The shop domain is
// acme.myshopify.com.
func (a *Apps) ShopifyOrder(topic string, order map[string]any, o EmitOptions) []Delivery {
	body, _ := json.Marshal(order)
	eventID := fmt.Sprintf("%08x-feed-4000-8000-%012x", a.nextID(), time.Now().UnixNano()&0xffffffffffff)
	var out []Delivery
	for _, h := range a.activeHooks("shopify", func(h *Hook) bool { return h.Events[0] == topic }) {
		hd := jsonHeader()
		hd.Set("User-Agent", "Shopify-Captain-Hook")
		hd.Set("X-Shopify-Topic", topic)
		hd.Set("X-Shopify-Shop-Domain", "acme.myshopify.com")
		hd.Set("X-Shopify-Api-Version", "2024-07")
		hd.Set("X-Shopify-Webhook-Id", fmt.Sprintf("%08x-hook-4000-8000-%012x", a.nextID(), time.Now().UnixNano()&0xffffffffffff))
		hd.Set("X-Shopify-Event-Id", eventID)
		hd.Set("X-Shopify-Triggered-At", signedAt(o).UTC().Format("2006-01-02T15:04:05.000000000Z"))
		hd.Set("X-Shopify-Hmac-Sha256", hmacBase64(forged(a.ShopifySecret, o), body))
		out = append(out, Delivery{URL: h.URL, Header: hd, Body: body})
	}
	return out
}

// Linear

func linearErrors(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, map[string]any{"errors": []any{map[string]any{"message": msg,
		"extensions": map[string]any{"code": code, "type": code, "userPresentableMessage": msg}}}})
}

func (a *Apps) linearGraphQL(w http.ResponseWriter, r *http.Request) {
	if !a.record(r, "linear") {
		linearErrors(w, 400, "Authentication required, not authenticated", "AUTHENTICATION_ERROR")
		return
	}
	var in struct {
		Query     string `json:"query"`
		Variables struct {
			ID    string `json:"id"`
			Input struct {
				URL            string   `json:"url"`
				TeamID         string   `json:"teamId"`
				AllPublicTeams bool     `json:"allPublicTeams"`
				ResourceTypes  []string `json:"resourceTypes"`
				Secret         string   `json:"secret"`
				Label          string   `json:"label"`
			} `json:"input"`
		} `json:"variables"`
	}
	if err := readJSON(r, &in); err != nil {
		linearErrors(w, 400, "Body is not valid JSON", "BAD_USER_INPUT")
		return
	}
	switch {
	case strings.Contains(in.Query, "webhookCreate"):
		v := in.Variables.Input
		if v.URL == "" || len(v.ResourceTypes) == 0 || (v.TeamID == "" && !v.AllPublicTeams) {
			linearErrors(w, 200, "Argument Validation Error: url, resourceTypes and teamId or allPublicTeams are required", "INVALID_INPUT")
			return
		}
		secret := v.Secret
		if secret == "" {
			secret = "lin_wh_" + randomString(24)
		}
		id := fmt.Sprintf("%08x-d123-4980-b49f-%012x", a.nextID(), time.Now().UnixNano()&0xffffffffffff)
		a.addHook(&Hook{Provider: "linear", ID: id, URL: v.URL, Secret: secret, Events: v.ResourceTypes, Team: v.TeamID})
		writeJSON(w, 200, map[string]any{"data": map[string]any{"webhookCreate": map[string]any{"success": true,
			"webhook": map[string]any{"id": id, "enabled": true}}}})
	case strings.Contains(in.Query, "webhookDelete"):
		if !a.deleteHook("linear", in.Variables.ID, nil) {
			writeJSON(w, 200, map[string]any{"data": nil, "errors": []any{map[string]any{"message": "Entity not found: Webhook",
				"path": []string{"webhookDelete"}, "extensions": map[string]any{"code": "INVALID_INPUT", "type": "invalid input"}}}})
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{"webhookDelete": map[string]any{"success": true}}})
	default:
		linearErrors(w, 400, "Cannot query this field on the fake Linear API", "GRAPHQL_VALIDATION_FAILED")
	}
}

// LinearEvent builds the deliveries of one Linear data change (action
// create, update or remove on typ, e.g. Issue) to every webhook listening
// to typ (and to data's teamId, for a team's webhook).
func (a *Apps) LinearEvent(action, typ string, data map[string]any, o EmitOptions) []Delivery {
	team, _ := data["teamId"].(string)
	var out []Delivery
	for _, h := range a.activeHooks("linear", func(h *Hook) bool {
		return slices.Contains(h.Events, typ) && (h.Team == "" || h.Team == team)
	}) {
		body, _ := json.Marshal(map[string]any{"action": action, "type": typ, "data": data,
			"url": "https://linear.app/acme/issue/" + fmt.Sprint(data["identifier"]), "createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
			"organizationId": "8f1cc5e4-0000-4000-8000-000000000001", "webhookTimestamp": signedAt(o).UnixMilli(), "webhookId": h.ID})
		hd := jsonHeader()
		hd.Set("User-Agent", "Linear-Webhook")
		hd.Set("Linear-Delivery", fmt.Sprintf("%08x-de11-4000-8000-%012x", a.nextID(), time.Now().UnixNano()&0xffffffffffff))
		hd.Set("Linear-Event", typ)
		hd.Set("Linear-Signature", hmacHex(forged(h.Secret, o), string(body)))
		out = append(out, Delivery{URL: h.URL, Header: hd, Body: body})
	}
	return out
}

// Slack

// SetSlackRequestURL sets the Events API Request URL of the app, after
// checking it as Slack does: a url_verification request whose challenge
// the URL must echo.
func (a *Apps) SetSlackRequestURL(u string) error {
	challenge := randomString(24)
	body, _ := json.Marshal(map[string]string{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
	d := a.deliver(a.slackDelivery(u, body, EmitOptions{}))
	if d.Status != 200 || strings.TrimSpace(string(d.Reply)) != challenge {
		return fmt.Errorf("slack: the Request URL answered %d %q, not the challenge", d.Status, d.Reply)
	}
	a.mu.Lock()
	a.slackURL = u
	a.mu.Unlock()
	return nil
}

func (a *Apps) slackDelivery(u string, body []byte, o EmitOptions) Delivery {
	ts := strconv.FormatInt(signedAt(o).Unix(), 10)
	hd := jsonHeader()
	hd.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	hd.Set("X-Slack-Request-Timestamp", ts)
	hd.Set("X-Slack-Signature", "v0="+hmacHex(forged(a.SlackSigningSecret, o), "v0:", ts, ":", string(body)))
	return Delivery{URL: u, Header: hd, Body: body}
}

// SlackMessage builds the Events API delivery of a message posted by user
// in channel of SlackTeam, to the app's Request URL (none when it is not
// set). Extra fields (thread_ts, bot_id, subtype) are merged into the
// message event. Repeats carry X-Slack-Retry-Num as Slack's retries do.
func (a *Apps) SlackMessage(channel, user, text string, extra map[string]any, o EmitOptions) []Delivery {
	a.mu.Lock()
	u := a.slackURL
	a.mu.Unlock()
	if u == "" {
		return nil
	}
	now := time.Now()
	ts := fmt.Sprintf("%d.%06d", now.Unix(), a.nextID())
	ev := map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel"}
	for k, v := range extra {
		ev[k] = v
	}
	body, _ := json.Marshal(map[string]any{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": a.SlackTeam, "api_app_id": "A0FAKEAPP",
		"event": ev, "type": "event_callback", "event_id": fmt.Sprintf("Ev%08X", a.nextID()), "event_time": now.Unix(),
		"authorizations": []any{map[string]any{"team_id": a.SlackTeam, "user_id": "U0BOT", "is_bot": true}}})
	return []Delivery{a.slackDelivery(u, body, o)}
}

// Emit control

// handleEmit serves POST /_fake/{provider}/emit: {"type"|"event"|"topic"|
// "action", "object"|"payload"|"order"|"data", "repeat", "reverse",
// "count", "stale", "forge"} builds count events (1 when absent) and
// sends their deliveries as EmitOptions say; it answers the deliveries.
func (a *Apps) handleEmit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Type    string         `json:"type"`
		Repo    string         `json:"repo"`
		Action  string         `json:"action"`
		Channel string         `json:"channel"`
		User    string         `json:"user"`
		Text    string         `json:"text"`
		Object  map[string]any `json:"object"`
		Count   int            `json:"count"`
		Repeat  int            `json:"repeat"`
		Reverse bool           `json:"reverse"`
		Stale   bool           `json:"stale"`
		Forge   bool           `json:"forge"`
	}
	if err := readJSON(r, &in); err != nil {
		writeJSON(w, 400, map[string]string{"error": "body must be a JSON object"})
		return
	}
	o := EmitOptions{Repeat: in.Repeat, Reverse: in.Reverse, Forge: in.Forge}
	if in.Stale {
		o.SignedAt = time.Now().Add(-time.Hour)
	}
	var ds []Delivery
	for range max(in.Count, 1) {
		switch r.PathValue("provider") {
		case "stripe":
			ds = append(ds, a.StripeEvent(in.Type, in.Object, o)...)
		case "github":
			ds = append(ds, a.GitHubEvent(in.Repo, in.Type, in.Object, o)...)
		case "shopify":
			ds = append(ds, a.ShopifyOrder(in.Type, in.Object, o)...)
		case "linear":
			ds = append(ds, a.LinearEvent(in.Action, in.Type, in.Object, o)...)
		case "slack":
			ds = append(ds, a.SlackMessage(in.Channel, in.User, in.Text, in.Object, o)...)
		default:
			writeJSON(w, 404, map[string]string{"error": "no webhook provider " + r.PathValue("provider")})
			return
		}
	}
	if len(ds) == 0 {
		writeJSON(w, 409, map[string]string{"error": "no registration listens to this event"})
		return
	}
	writeJSON(w, 200, a.Send(ds, o))
}

var errNoHook = errors.New("no registration listens to this event")

// Emit sends ds as o says and fails when there is nothing to send.
func (a *Apps) Emit(ds []Delivery, o EmitOptions) ([]Delivery, error) {
	if len(ds) == 0 {
		return nil, errNoHook
	}
	return a.Send(ds, o), nil
}
