package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
	"github.com/atomhq/atom/sdk/internal/rpc"
)

// Serve serves p as a native Atom plugin over go-plugin and returns when
// the host closes the plugin. It is the whole main of a plugin:
//
//	func main() { provider.Serve(myprovider.New()) }
//
// Run by hand, the binary prints a notice and exits: only the host starts it.
func Serve(p Provider) {
	plugin.Serve(ServeConfig(p))
}

// ServeConfig returns the go-plugin configuration Serve uses for p, for
// callers that need to adjust it (for example to serve in-process in a
// test with ServeConfig.Test set).
func ServeConfig(p Provider) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.PluginSets(&grpcProvider{p: p}),
		GRPCServer:       plugin.DefaultGRPCServer,
	}
}

// grpcProvider adapts a Provider to the protobuf-level rpc.Server.
type grpcProvider struct {
	p Provider
}

func (g *grpcProvider) Manifest(context.Context) (m *pb.Manifest, err error) {
	defer recoverTo(&err)
	return manifestToPB(g.p.Manifest()), nil
}

func (g *grpcProvider) Execute(ctx context.Context, in *pb.ExecuteRequest, host rpc.HostCaller) (out *pb.ExecuteResponse, err error) {
	defer recoverTo(&err)
	req := requestFromPB(in)
	ctx = WithHost(WithRequest(ctx, req), grpcHost{c: host})
	resp, err := g.p.Execute(ctx, req)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return responseToPB(resp), nil
}

func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = status.Error(codes.Internal, fmt.Sprintf("provider panic: %v", r))
	}
}

// grpcHost is the Host of a call served over go-plugin.
type grpcHost struct {
	c rpc.HostCaller
}

func (h grpcHost) Refresh(ctx context.Context) (Credentials, error) {
	c, err := h.c.Refresh(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("refresh: %s", status.Convert(err).Message())
	}
	return credentialsFromPB(c), nil
}

func (h grpcHost) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	return h.c.StoreGet(ctx, key)
}

func (h grpcHost) StorePut(ctx context.Context, key string, value []byte) error {
	return h.c.StorePut(ctx, key, value)
}

func (h grpcHost) Log(ctx context.Context, level, msg string) {
	_ = h.c.Log(ctx, level, msg)
}

func manifestToPB(m Manifest) *pb.Manifest {
	out := &pb.Manifest{
		Id:          m.ID,
		Name:        m.Name,
		Version:     m.Version,
		Description: m.Description,
		Categories:  m.Categories,
	}
	for _, a := range m.Actions {
		out.Actions = append(out.Actions, &pb.Action{
			Name:         a.Name,
			DisplayName:  a.DisplayName,
			Description:  a.Description,
			InputSchema:  a.Input,
			OutputSchema: a.Output,
		})
	}
	return out
}

func requestFromPB(r *pb.ExecuteRequest) Request {
	return Request{
		ExecutionID: r.GetExecutionId(),
		TenantID:    r.GetTenantId(),
		Action:      r.GetAction(),
		Input:       r.GetInput(),
		Credentials: credentialsFromPB(r.GetCredentials()),
		BaseURL:     r.GetBaseUrl(),
	}
}

func credentialsFromPB(c *pb.Credentials) Credentials {
	if c == nil {
		return Credentials{}
	}
	out := Credentials{
		Type:        c.GetType(),
		AccessToken: c.GetAccessToken(),
		TokenSecret: c.GetTokenSecret(),
		TokenType:   c.GetTokenType(),
		APIKey:      c.GetApiKey(),
		Username:    c.GetUsername(),
		Password:    c.GetPassword(),
		Fields:      c.GetFields(),
		Metadata:    c.GetMetadata(),
		Params:      c.GetParams(),
	}
	if n := c.GetExpiresAtUnixNano(); n != 0 {
		out.ExpiresAt = time.Unix(0, n).UTC()
	}
	return out
}

func responseToPB(r Response) *pb.ExecuteResponse {
	out := &pb.ExecuteResponse{Output: r.Output}
	for _, d := range r.Diagnostics {
		out.Diagnostics = append(out.Diagnostics, &pb.Diagnostic{
			Severity: d.Severity,
			Summary:  d.Summary,
			Detail:   d.Detail,
			Field:    d.Field,
			Status:   int32(d.Status),
		})
	}
	return out
}
