package github

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// The webhook triggers register a repository webhook
// (POST /repos/{owner}/{repo}/hooks) for one event with a secret of their
// own making, and check X-Hub-Signature-256 on every delivery. GitHub
// sends a "ping" event when the hook is created: it is answered and
// produces no event. The X-GitHub-Delivery GUID, the same when a delivery
// is redelivered, is the event's id.
func withTriggers(b *provider.Builder) *provider.Builder {
	repo := `"owner":{"type":"string","minLength":1,"maxLength":100},"repo":{"type":"string","minLength":1,"maxLength":100}`
	return b.
		Trigger(webhookTrigger("issues", "Issue event",
			"An issue was opened, edited, closed, reopened, labeled, assigned... in a repository.",
			`{"type":"object","additionalProperties":false,"required":["owner","repo"],"properties":{`+repo+`,
				"actions":{"type":"array","uniqueItems":true,"description":"Only these actions (opened, closed, ...); all when empty.",
					"items":{"type":"string","enum":["opened","edited","deleted","closed","reopened","assigned","unassigned","labeled","unlabeled","locked","unlocked","transferred","milestoned","demilestoned","pinned","unpinned"]}}}}`,
			`{"type":"object","required":["action","issue","repository"],"properties":{"action":{"type":"string"},"issue":{"type":"object"},"repository":{"type":"object"},"sender":{"type":"object"}}}`,
			`{"action":"opened","issue":{"id":1,"number":1347,"title":"Found a bug","state":"open","html_url":"https://github.com/octocat/Hello-World/issues/1347","updated_at":"2026-01-02T03:04:05Z"},"repository":{"id":1296269,"full_name":"octocat/Hello-World"},"sender":{"login":"octocat"}}`)).
		Trigger(webhookTrigger("pull_request", "Pull request event",
			"A pull request was opened, closed, merged (closed with merged true), reopened, synchronized... in a repository.",
			`{"type":"object","additionalProperties":false,"required":["owner","repo"],"properties":{`+repo+`,
				"actions":{"type":"array","uniqueItems":true,"description":"Only these actions (opened, closed, synchronize, ...); all when empty.",
					"items":{"type":"string","enum":["opened","edited","closed","reopened","synchronize","assigned","unassigned","labeled","unlabeled","ready_for_review","converted_to_draft","review_requested","review_request_removed","locked","unlocked"]}}}}`,
			`{"type":"object","required":["action","number","pull_request","repository"],"properties":{"action":{"type":"string"},"number":{"type":"integer"},"pull_request":{"type":"object"},"repository":{"type":"object"},"sender":{"type":"object"}}}`,
			`{"action":"opened","number":2,"pull_request":{"id":1,"number":2,"title":"Fix the bug","state":"open","merged":false,"updated_at":"2026-01-02T03:04:05Z"},"repository":{"id":1296269,"full_name":"octocat/Hello-World"},"sender":{"login":"octocat"}}`)).
		Trigger(webhookTrigger("push", "Push",
			"Commits were pushed to a branch or tag of a repository.",
			`{"type":"object","additionalProperties":false,"required":["owner","repo"],"properties":{`+repo+`,
				"branch":{"type":"string","minLength":1,"maxLength":255,"description":"Only pushes to this branch (e.g. main); every ref when absent."}}}`,
			`{"type":"object","required":["ref","before","after","repository"],"properties":{"ref":{"type":"string"},"before":{"type":"string"},"after":{"type":"string"},"commits":{"type":"array"},"head_commit":{"type":["object","null"]},"repository":{"type":"object"},"pusher":{"type":"object"}}}`,
			`{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0000000000000000000000000000000000000000","commits":[],"head_commit":null,"repository":{"id":1296269,"full_name":"octocat/Hello-World"},"pusher":{"name":"octocat"}}`))
}

func webhookTrigger(event, title, desc, input, output, sample string) provider.TriggerDef {
	return provider.TriggerDef{
		Name:        event,
		DisplayName: title,
		Description: desc,
		Kind:        provider.TriggerWebhook,
		Input:       provider.SortedSchema(input),
		Output:      provider.SortedSchema(output),
		Sample:      json.RawMessage(sample),
		Enable: func(ctx context.Context, req provider.TriggerRequest, webhookURL string) (json.RawMessage, error) {
			return enableHook(ctx, req, event, webhookURL)
		},
		Disable: disableHook,
		Handle: func(ctx context.Context, req provider.TriggerRequest, hook provider.WebhookRequest, reg json.RawMessage) (provider.HandleResult, error) {
			return handleHook(req, event, hook, reg)
		},
	}
}

type hookInput struct {
	Owner   string   `json:"owner"`
	Repo    string   `json:"repo"`
	Actions []string `json:"actions"`
	Branch  string   `json:"branch"`
}

// hookRegistration is what Enable returns and the host keeps.
type hookRegistration struct {
	ID     int64  `json:"id"`
	Owner  string `json:"owner"`
	Repo   string `json:"repo"`
	Secret string `json:"secret"`
}

func hooksPath(owner, repo string) (string, error) {
	segs, err := provider.PathSegments("owner", owner, "repo", repo)
	if err != nil {
		return "", err
	}
	return "/repos/" + segs[0] + "/" + segs[1] + "/hooks", nil
}

func enableHook(ctx context.Context, req provider.TriggerRequest, event, webhookURL string) (json.RawMessage, error) {
	var in hookInput
	if err := json.Unmarshal(req.Input, &in); err != nil {
		return nil, provider.UserError("", "input is not valid JSON")
	}
	path, err := hooksPath(in.Owner, in.Repo)
	if err != nil {
		return nil, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	body := map[string]any{"name": "web", "active": true, "events": []string{event},
		"config": map[string]string{"url": webhookURL, "content_type": "json", "insecure_ssl": "0", "secret": secret}}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := provider.Client(ctx, httpOptions).SendJSON(ctx, http.MethodPost, path, nil, body, &created); err != nil {
		return nil, err
	}
	if created.ID == 0 {
		return nil, errors.New("github: the hook was created without an id")
	}
	return json.Marshal(hookRegistration{ID: created.ID, Owner: in.Owner, Repo: in.Repo, Secret: secret})
}

func disableHook(ctx context.Context, _ provider.TriggerRequest, raw json.RawMessage) error {
	var reg hookRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ID == 0 {
		return errors.New("github: the registration names no hook")
	}
	path, err := hooksPath(reg.Owner, reg.Repo)
	if err != nil {
		return err
	}
	err = provider.Client(ctx, httpOptions).Send(ctx, http.MethodDelete, fmt.Sprintf("%s/%d", path, reg.ID), nil, "", nil, nil)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil // already removed at GitHub
	}
	return err
}

func handleHook(req provider.TriggerRequest, event string, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	var reg hookRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.Secret == "" {
		return provider.HandleResult{}, errors.New("github: the registration has no secret")
	}
	if err := provider.VerifyGitHub(hook.Headers, hook.Body, reg.Secret); err != nil {
		return provider.HandleResult{}, err
	}
	got := hook.Headers.Get("X-GitHub-Event")
	if got == "ping" || got != event {
		return provider.HandleResult{}, nil
	}
	delivery := hook.Headers.Get("X-GitHub-Delivery")
	if delivery == "" {
		return provider.HandleResult{}, errors.New("github: the delivery has no X-GitHub-Delivery id")
	}
	var body struct {
		Action string `json:"action"`
		Ref    string `json:"ref"`
		Issue  *struct {
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"issue"`
		PullRequest *struct {
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"pull_request"`
		HeadCommit *struct {
			Timestamp time.Time `json:"timestamp"`
		} `json:"head_commit"`
	}
	if err := json.Unmarshal(hook.Body, &body); err != nil {
		return provider.HandleResult{}, fmt.Errorf("github: the %s payload is not JSON", event)
	}
	var in hookInput
	_ = json.Unmarshal(req.Input, &in)
	if len(in.Actions) > 0 && !slices.Contains(in.Actions, body.Action) {
		return provider.HandleResult{}, nil
	}
	if in.Branch != "" && body.Ref != "refs/heads/"+in.Branch {
		return provider.HandleResult{}, nil
	}
	var at time.Time
	switch {
	case body.Issue != nil:
		at = body.Issue.UpdatedAt
	case body.PullRequest != nil:
		at = body.PullRequest.UpdatedAt
	case body.HeadCommit != nil:
		at = body.HeadCommit.Timestamp
	}
	return provider.HandleResult{Events: []provider.Event{{ID: delivery, OccurredAt: at, Payload: hook.Body}}}, nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
