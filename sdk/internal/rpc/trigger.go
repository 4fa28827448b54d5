package rpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// TriggerServer is implemented by a Server that serves trigger calls.
type TriggerServer interface {
	// Trigger runs one trigger operation; host reaches the Host service
	// for it, as for an Execute.
	Trigger(ctx context.Context, req *pb.TriggerRequest, host HostCaller) (*pb.TriggerResponse, error)
}

// MaxTriggerMessage bounds a trigger call's answer as the host receives
// it: a hostile plugin cannot make the host buffer more. The host checks
// the events, state and registration inside against finer limits.
const MaxTriggerMessage = 16 << 20

// Trigger runs one trigger operation in the plugin. Its Host calls are
// routed as an Execute's: by a call id known only to this call, answered
// by h while it runs. From protocol version 4 it is a call on the session,
// with the plugin's HTTP requests during it; before, a unary call, whose
// HTTP requests are Host.HTTP calls over the broker.
func (c *Client) Trigger(ctx context.Context, req *pb.TriggerRequest, h HostHandler) (*pb.TriggerResponse, error) {
	return callPlugin(ctx, c, h, c.TriggersStreaming(),
		func(id string, brokerID uint32) { req.CallId, req.HostBrokerId = id, brokerID },
		func(ctx context.Context, s *hostSession) (*pb.TriggerResponse, error) { return s.trigger(ctx, req) },
		func(ctx context.Context) (*pb.TriggerResponse, error) {
			return c.provider.Trigger(ctx, req, grpc.MaxCallRecvMsgSize(MaxTriggerMessage))
		})
}

func (s *providerServer) Trigger(ctx context.Context, req *pb.TriggerRequest) (*pb.TriggerResponse, error) {
	ts, ok := s.impl.(TriggerServer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this plugin serves no triggers")
	}
	if id := req.GetHostBrokerId(); id != 0 {
		_, _ = s.host(id)
	}
	return ts.Trigger(ctx, req, &hostCaller{s: s, brokerID: req.GetHostBrokerId(), callID: req.GetCallId()})
}
