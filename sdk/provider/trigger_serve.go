package provider

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
	"github.com/atomhq/atom/sdk/internal/rpc"
)

var _ rpc.TriggerServer = (*grpcProvider)(nil)

// Trigger serves one trigger call over go-plugin. A failure of the
// operation travels as data (error, signature_invalid); an operation the
// provider does not implement is Unimplemented.
func (g *grpcProvider) Trigger(ctx context.Context, in *pb.TriggerRequest, host rpc.HostCaller) (out *pb.TriggerResponse, err error) {
	defer recoverTo(&err)
	call := triggerCallFromPB(in)
	ctx = WithHost(ctx, grpcHost{c: host})
	res, err := DispatchTrigger(ctx, g.p, call)
	switch {
	case errors.Is(err, ErrTriggerUnsupported):
		return nil, status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, ErrInvalidSignature):
		return &pb.TriggerResponse{SignatureInvalid: true, Error: err.Error()}, nil
	case err != nil:
		return &pb.TriggerResponse{Error: err.Error()}, nil
	}
	return triggerResultToPB(res), nil
}

// triggerCallFromPB converts a call from the wire.
func triggerCallFromPB(in *pb.TriggerRequest) TriggerCall {
	c := TriggerCall{
		Op: in.GetOp(),
		TriggerRequest: TriggerRequest{
			ExecutionID: in.GetExecutionId(),
			TenantID:    in.GetTenantId(),
			Trigger:     in.GetTrigger(),
			Input:       in.GetInput(),
			Credentials: credentialsFromPB(in.GetCredentials()),
			BaseURL:     in.GetBaseUrl(),
		},
		State:        in.GetState(),
		WebhookURL:   in.GetWebhookUrl(),
		Registration: in.GetRegistration(),
	}
	if in.GetWebhookMethod() != "" || len(in.GetWebhookHeaders()) > 0 || len(in.GetWebhookBody()) > 0 {
		c.Webhook = &WebhookRequest{Method: in.GetWebhookMethod(), Headers: headersFromPB(in.GetWebhookHeaders()), Body: in.GetWebhookBody()}
	}
	return c
}

// triggerResultToPB converts a result for the wire.
func triggerResultToPB(r TriggerResult) *pb.TriggerResponse {
	out := &pb.TriggerResponse{State: r.State, Registration: r.Registration, Route: r.Route}
	for _, e := range r.Events {
		pe := &pb.TriggerEvent{Id: e.ID, Payload: e.Payload}
		if !e.OccurredAt.IsZero() {
			pe.OccurredAtUnixNano = e.OccurredAt.UnixNano()
		}
		out.Events = append(out.Events, pe)
	}
	if r.Reply != nil {
		out.HasReply, out.ReplyStatus, out.ReplyBody = true, int32(r.Reply.Status), r.Reply.Body
		out.ReplyHeaders = headersToPB(r.Reply.Headers)
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

func headersFromPB(in []*pb.Header) http.Header {
	if len(in) == 0 {
		return nil
	}
	h := http.Header{}
	for _, hd := range in {
		k := http.CanonicalHeaderKey(hd.GetName())
		h[k] = append(h[k], hd.GetValues()...)
	}
	return h
}
