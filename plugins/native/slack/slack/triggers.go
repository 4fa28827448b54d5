package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// The message trigger is an app webhook: Slack's Events API sends the
// events of every workspace that installed the operator's app to one
// Request URL. Route places a request by its team_id; Handle checks the
// v0 request signature with the app's signing secret (the registration
// the host passes: {"signing_secret":"…"}) and a five-minute tolerance,
// answers the url_verification handshake with its challenge, and turns a
// message event of the chosen channel into an event whose id is Slack's
// event_id, the same on Slack's retries (X-Slack-Retry-Num).
//
// A url_verification request names no team: Route refuses it, and the
// host answers it by calling Handle with the app's registration.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Router(routeEvent).Trigger(provider.TriggerDef{
		Name:        "message_in_channel",
		DisplayName: "New message in channel",
		Description: "A message was posted in a channel (Events API message.channels / message.groups).",
		Kind:        provider.TriggerAppWebhook,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["channel"],"properties":{
			"channel":{"type":"string","pattern":"^[CG][A-Z0-9]{2,}$","description":"Channel id (C…, or G… for a private channel)."},
			"include_bots":{"type":"boolean","description":"Also report messages posted by bots (subtype bot_message or a bot_id)."},
			"include_replies":{"type":"boolean","description":"Also report replies in threads."}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["team_id","event_id","channel","ts"],"properties":{
			"team_id":{"type":"string"},"event_id":{"type":"string"},"event_time":{"type":"integer"},
			"channel":{"type":"string"},"user":{"type":"string"},"bot_id":{"type":"string"},"text":{"type":"string"},
			"ts":{"type":"string"},"thread_ts":{"type":"string"},"subtype":{"type":"string"},"event":{"type":"object"}}}`),
		Sample: json.RawMessage(`{"team_id":"T0001","event_id":"Ev0PV52K21","event_time":1767323045,"channel":"C0123ABCD","user":"U2147483697","text":"Hello world","ts":"1767323045.000200","event":{"type":"message","channel":"C0123ABCD","user":"U2147483697","text":"Hello world","ts":"1767323045.000200","channel_type":"channel"}}`),
		Handle: handleMessage,
	})
}

type envelopeIn struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	TeamID    string          `json:"team_id"`
	EventID   string          `json:"event_id"`
	EventTime int64           `json:"event_time"`
	Event     json.RawMessage `json:"event"`
}

func routeEvent(_ context.Context, hook provider.WebhookRequest) (string, error) {
	var env envelopeIn
	if err := json.Unmarshal(hook.Body, &env); err != nil {
		return "", errors.New("slack: the request body is not JSON")
	}
	if env.TeamID == "" {
		return "", fmt.Errorf("slack: a %q request names no team_id", env.Type)
	}
	return env.TeamID, nil
}

type messageInput struct {
	Channel        string `json:"channel"`
	IncludeBots    bool   `json:"include_bots"`
	IncludeReplies bool   `json:"include_replies"`
}

type messageEvent struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	Channel  string `json:"channel"`
	User     string `json:"user"`
	BotID    string `json:"bot_id"`
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
}

// reported are the message subtypes that are new messages; edits,
// deletions and joins are not.
var reported = map[string]bool{"": true, "bot_message": true, "file_share": true, "thread_broadcast": true, "me_message": true}

func handleMessage(_ context.Context, req provider.TriggerRequest, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	var app struct {
		SigningSecret string `json:"signing_secret"`
	}
	if err := json.Unmarshal(raw, &app); err != nil || app.SigningSecret == "" {
		return provider.HandleResult{}, errors.New("slack: no signing secret for the app (registration signing_secret)")
	}
	if err := provider.VerifySlack(hook.Headers, hook.Body, app.SigningSecret, 0, time.Time{}); err != nil {
		return provider.HandleResult{}, err
	}
	var env envelopeIn
	if err := json.Unmarshal(hook.Body, &env); err != nil {
		return provider.HandleResult{}, errors.New("slack: the request body is not JSON")
	}
	switch env.Type {
	case "url_verification":
		return provider.HandleResult{Reply: &provider.WebhookReply{Status: http.StatusOK,
			Headers: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(env.Challenge)}}, nil
	case "event_callback":
	default:
		return provider.HandleResult{}, nil
	}
	var ev messageEvent
	if err := json.Unmarshal(env.Event, &ev); err != nil || ev.Type != "message" || env.EventID == "" {
		return provider.HandleResult{}, nil
	}
	var in messageInput
	_ = json.Unmarshal(req.Input, &in)
	switch {
	case ev.Channel != in.Channel, !reported[ev.Subtype]:
		return provider.HandleResult{}, nil
	case !in.IncludeBots && (ev.BotID != "" || ev.Subtype == "bot_message"):
		return provider.HandleResult{}, nil
	case !in.IncludeReplies && ev.ThreadTS != "" && ev.ThreadTS != ev.TS && ev.Subtype != "thread_broadcast":
		return provider.HandleResult{}, nil
	}
	payload, err := json.Marshal(map[string]any{"team_id": env.TeamID, "event_id": env.EventID, "event_time": env.EventTime,
		"channel": ev.Channel, "user": ev.User, "bot_id": ev.BotID, "text": ev.Text, "ts": ev.TS,
		"thread_ts": ev.ThreadTS, "subtype": ev.Subtype, "event": env.Event})
	if err != nil {
		return provider.HandleResult{}, err
	}
	return provider.HandleResult{Events: []provider.Event{{ID: env.EventID, OccurredAt: slackTime(ev.TS), Payload: payload}}}, nil
}

// slackTime reads a message ts ("1767323045.000200").
func slackTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000).UTC()
}
