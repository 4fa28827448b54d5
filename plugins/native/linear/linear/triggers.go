package linear

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// SignatureTolerance is how far a delivery's webhookTimestamp may be from
// the clock: Linear asks receivers to refuse deliveries older than a
// minute.
const SignatureTolerance = time.Minute

// The webhook trigger creates a Linear webhook with the GraphQL mutation
// webhookCreate, passing a secret of its own making, and deletes it with
// webhookDelete. Linear signs each delivery's raw body with that secret
// (Linear-Signature, hex HMAC-SHA256) and puts webhookTimestamp (Unix
// milliseconds) in the body; the Linear-Delivery id is the event's id.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "webhook",
		DisplayName: "Data change",
		Description: "An issue, comment, project... was created, updated or removed in the workspace (or one team).",
		Kind:        provider.TriggerWebhook,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
			"resource_types":{"type":"array","minItems":1,"uniqueItems":true,"default":["Issue"],
				"items":{"type":"string","enum":["Issue","Comment","IssueLabel","Project","ProjectUpdate","Cycle","Reaction","Attachment","IssueSLA"]}},
			"team_id":{"type":"string","minLength":1,"maxLength":100,"description":"Only this team's data; every public team when absent."},
			"actions":{"type":"array","uniqueItems":true,"description":"Only these actions; all when empty.","items":{"type":"string","enum":["create","update","remove"]}}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["action","type","data"],"properties":{
			"action":{"type":"string"},"type":{"type":"string"},"data":{"type":"object"},"updatedFrom":{"type":"object"},
			"url":{"type":"string"},"createdAt":{"type":"string"},"organizationId":{"type":"string"},
			"webhookTimestamp":{"type":"integer"},"webhookId":{"type":"string"}}}`),
		Sample:  json.RawMessage(`{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","identifier":"ENG-12","title":"Crash on start","teamId":"72b2a2dc-6f4f-4423-9d34-24b5bd10634a"},"url":"https://linear.app/acme/issue/ENG-12","createdAt":"2026-01-02T03:04:05.000Z","organizationId":"8f1cc5e4","webhookTimestamp":1767323045000,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}`),
		Enable:  enableWebhook,
		Disable: disableWebhook,
		Handle:  handleWebhook,
	})
}

type webhookInput struct {
	ResourceTypes []string `json:"resource_types"`
	TeamID        string   `json:"team_id"`
	Actions       []string `json:"actions"`
}

type webhookRegistration struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

const webhookCreate = `mutation WebhookCreate($input: WebhookCreateInput!) {
  webhookCreate(input: $input) { success webhook { id enabled } }
}`

const webhookDelete = `mutation WebhookDelete($id: String!) { webhookDelete(id: $id) { success } }`

func enableWebhook(ctx context.Context, req provider.TriggerRequest, webhookURL string) (json.RawMessage, error) {
	var in webhookInput
	if err := json.Unmarshal(req.Input, &in); err != nil {
		return nil, provider.UserError("", "input is not valid JSON")
	}
	if len(in.ResourceTypes) == 0 {
		in.ResourceTypes = []string{"Issue"}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	secret := hex.EncodeToString(b)
	input := map[string]any{"url": webhookURL, "resourceTypes": in.ResourceTypes, "secret": secret, "label": "Atom trigger"}
	if in.TeamID != "" {
		input["teamId"] = in.TeamID
	} else {
		input["allPublicTeams"] = true
	}
	var out struct {
		WebhookCreate struct {
			Success bool `json:"success"`
			Webhook struct {
				ID string `json:"id"`
			} `json:"webhook"`
		} `json:"webhookCreate"`
	}
	if err := provider.Client(ctx, httpOptions).GraphQL(ctx, endpoint, webhookCreate, map[string]any{"input": input}, &out); err != nil {
		return nil, err
	}
	if !out.WebhookCreate.Success || out.WebhookCreate.Webhook.ID == "" {
		return nil, provider.Errorf("Linear did not create the webhook")
	}
	return json.Marshal(webhookRegistration{ID: out.WebhookCreate.Webhook.ID, Secret: secret})
}

func disableWebhook(ctx context.Context, _ provider.TriggerRequest, raw json.RawMessage) error {
	var reg webhookRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ID == "" {
		return errors.New("linear: the registration names no webhook")
	}
	var out struct {
		WebhookDelete struct {
			Success bool `json:"success"`
		} `json:"webhookDelete"`
	}
	err := provider.Client(ctx, httpOptions).GraphQL(ctx, endpoint, webhookDelete, map[string]any{"id": reg.ID}, &out)
	var ge *provider.GraphQLError
	if errors.As(err, &ge) && notFound(ge) {
		return nil // already deleted at Linear
	}
	if err != nil {
		return err
	}
	if !out.WebhookDelete.Success {
		return provider.Errorf("Linear did not delete the webhook")
	}
	return nil
}

func notFound(ge *provider.GraphQLError) bool {
	for _, it := range ge.Errors {
		if strings.Contains(strings.ToLower(it.Message), "not found") || strings.EqualFold(it.Code(), "ENTITY_NOT_FOUND") {
			return true
		}
	}
	return false
}

// verify checks Linear-Signature over the raw body and the body's
// webhookTimestamp against now.
func verify(hook provider.WebhookRequest, secret string, now time.Time) error {
	sig, err := hex.DecodeString(strings.TrimSpace(hook.Headers.Get("Linear-Signature")))
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: missing or malformed Linear-Signature", provider.ErrInvalidSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(hook.Body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: Linear-Signature does not match", provider.ErrInvalidSignature)
	}
	var ts struct {
		WebhookTimestamp int64 `json:"webhookTimestamp"`
	}
	if json.Unmarshal(hook.Body, &ts) != nil || ts.WebhookTimestamp == 0 {
		return fmt.Errorf("%w: no webhookTimestamp", provider.ErrInvalidSignature)
	}
	if d := now.Sub(time.UnixMilli(ts.WebhookTimestamp)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: webhookTimestamp outside the tolerance", provider.ErrInvalidSignature)
	}
	return nil
}

func handleWebhook(_ context.Context, req provider.TriggerRequest, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	var reg webhookRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.Secret == "" {
		return provider.HandleResult{}, errors.New("linear: the registration has no secret")
	}
	if err := verify(hook, reg.Secret, time.Now()); err != nil {
		return provider.HandleResult{}, err
	}
	id := hook.Headers.Get("Linear-Delivery")
	if id == "" {
		return provider.HandleResult{}, errors.New("linear: the delivery has no Linear-Delivery id")
	}
	var body struct {
		Action    string    `json:"action"`
		Type      string    `json:"type"`
		CreatedAt time.Time `json:"createdAt"`
	}
	if err := json.Unmarshal(hook.Body, &body); err != nil {
		return provider.HandleResult{}, errors.New("linear: the payload is not JSON")
	}
	var in webhookInput
	_ = json.Unmarshal(req.Input, &in)
	if len(in.Actions) > 0 && !slices.Contains(in.Actions, body.Action) {
		return provider.HandleResult{}, nil
	}
	if len(in.ResourceTypes) > 0 && !slices.Contains(in.ResourceTypes, body.Type) {
		return provider.HandleResult{}, nil
	}
	return provider.HandleResult{Events: []provider.Event{{ID: id, OccurredAt: body.CreatedAt, Payload: hook.Body}}}, nil
}
