package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
	"github.com/atomhq/atom/sdk/provider"
)

// ErrTriggerFailed wraps the failure a plugin reported for a trigger
// operation (an upstream error while polling or enabling, say): the
// plugin answered, the operation did not succeed.
var ErrTriggerFailed = errors.New("trigger operation failed")

// Trigger runs one trigger operation in the plugin, with host answering
// its Host calls as for an Execute. Call it only for a trigger the
// manifest lists: a plugin built before triggers existed answers
// provider.ErrTriggerUnsupported. A request whose signature the plugin
// refused returns an error wrapping provider.ErrInvalidSignature, another
// failure the plugin reported wraps ErrTriggerFailed, and a failure to
// reach the plugin wraps ErrUnavailable.
func (c *Client) Trigger(ctx context.Context, call provider.TriggerCall, host provider.Host) (provider.TriggerResult, error) {
	if host == nil {
		host = provider.HostFrom(ctx)
	}
	resp, err := c.c.Trigger(ctx, triggerCallToPB(call), hostHandler{h: host})
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			return provider.TriggerResult{}, fmt.Errorf("%w: %s", provider.ErrTriggerUnsupported, status.Convert(err).Message())
		}
		return provider.TriggerResult{}, transportError(err)
	}
	switch {
	case resp.GetSignatureInvalid():
		return provider.TriggerResult{}, fmt.Errorf("%w (%s)", provider.ErrInvalidSignature, resp.GetError())
	case resp.GetError() != "":
		return provider.TriggerResult{}, fmt.Errorf("%w: %s", ErrTriggerFailed, resp.GetError())
	}
	return triggerResultFromPB(resp), nil
}

func triggerCallToPB(c provider.TriggerCall) *pb.TriggerRequest {
	out := &pb.TriggerRequest{
		Op:           c.Op,
		ExecutionId:  c.ExecutionID,
		TenantId:     c.TenantID,
		Trigger:      c.Trigger,
		Input:        c.Input,
		Credentials:  credentialsToPB(c.Credentials),
		BaseUrl:      c.BaseURL,
		State:        c.State,
		WebhookUrl:   c.WebhookURL,
		Registration: c.Registration,
	}
	if w := c.Webhook; w != nil {
		out.WebhookMethod, out.WebhookBody = w.Method, w.Body
		out.WebhookHeaders = headersToPB(w.Headers)
	}
	return out
}

func triggerResultFromPB(in *pb.TriggerResponse) provider.TriggerResult {
	out := provider.TriggerResult{State: in.GetState(), Registration: in.GetRegistration(), Route: in.GetRoute()}
	for _, e := range in.GetEvents() {
		ev := provider.Event{ID: e.GetId(), Payload: e.GetPayload()}
		if n := e.GetOccurredAtUnixNano(); n != 0 {
			ev.OccurredAt = time.Unix(0, n).UTC()
		}
		out.Events = append(out.Events, ev)
	}
	if in.GetHasReply() {
		out.Reply = &provider.WebhookReply{Status: int(in.GetReplyStatus()), Body: in.GetReplyBody()}
		if hs := in.GetReplyHeaders(); len(hs) > 0 {
			out.Reply.Headers = http.Header{}
			for _, hd := range hs {
				k := http.CanonicalHeaderKey(hd.GetName())
				out.Reply.Headers[k] = append(out.Reply.Headers[k], hd.GetValues()...)
			}
		}
	}
	return out
}

func headersToPB(h http.Header) []*pb.Header {
	var out []*pb.Header
	for k, vs := range h {
		out = append(out, &pb.Header{Name: k, Values: vs})
	}
	return out
}
