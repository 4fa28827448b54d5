package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
//
// Served, the process has no way out but the host: http.DefaultTransport
// (used by HTTPClient, TokenHeader and any client without a Transport of
// its own) sends each request through the Host of the execution the
// request's context belongs to, and refuses a request made outside one.
// Where the host starts plugins in their own network namespace, a
// connection dialed by other means finds no route.
func Serve(p Provider) {
	http.DefaultTransport = hostTransport{}
	plugin.Serve(ServeConfig(p))
}

// ServeConfig returns the go-plugin configuration Serve uses for p, for
// callers that need to adjust it (for example to serve in-process in a
// test with ServeConfig.Test set).
func ServeConfig(p Provider) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.PluginSets(&grpcProvider{p: p}),
		GRPCServer:       rpc.NewGRPCServer,
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

// maxEgressBody bounds a request body sent through the host; the host
// bounds answers.
const maxEgressBody = rpc.MaxHTTPBody

// RoundTrip sends req through the host (Egress). A refusal of the rate
// limit becomes a 429 answer with Retry-After, as the provider would send
// it; other refusals are *EgressError.
func (h grpcHost) RoundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	in := &pb.HTTPRequest{Method: req.Method, Url: req.URL.String()}
	if req.Body != nil {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxEgressBody+1))
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if len(body) > maxEgressBody {
			return nil, &EgressError{Code: EgressTooLarge, Message: fmt.Sprintf("request body exceeds %d bytes", maxEgressBody)}
		}
		in.Body = body
	}
	for k, vs := range req.Header {
		in.Headers = append(in.Headers, &pb.Header{Name: k, Values: vs})
	}
	if req.Host != "" && req.Host != req.URL.Host {
		return nil, &EgressError{Code: EgressInvalidRequest, Message: "a Host header other than the URL's host is not sent"}
	}
	out, err := h.c.HTTP(ctx, in)
	if err != nil {
		return nil, &EgressError{Code: EgressTransport, Message: status.Convert(err).Message()}
	}
	if code := out.GetErrorCode(); code != "" {
		e := &EgressError{Code: code, Message: out.GetErrorMessage(), RetryAfter: time.Duration(out.GetRetryAfterMs()) * time.Millisecond}
		if code != EgressRateLimited {
			return nil, e
		}
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		msg, _ := json.Marshal(e.Message)
		body := []byte(`{"error":{"message":` + string(msg) + `}}`)
		return &http.Response{
			Status: "429 Too Many Requests", StatusCode: http.StatusTooManyRequests,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}, "Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	}
	resp := &http.Response{
		Status:        strconv.Itoa(int(out.GetStatus())) + " " + http.StatusText(int(out.GetStatus())),
		StatusCode:    int(out.GetStatus()),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(out.GetBody())),
		ContentLength: int64(len(out.GetBody())),
		Request:       req,
	}
	for _, hd := range out.GetHeaders() {
		resp.Header[http.CanonicalHeaderKey(hd.GetName())] = hd.GetValues()
	}
	return resp, nil
}

func manifestToPB(m Manifest) *pb.Manifest {
	out := &pb.Manifest{
		Id:          m.ID,
		Name:        m.Name,
		Version:     m.Version,
		Description: m.Description,
		Categories:  m.Categories,

		AllowedHosts:   m.AllowedHosts,
		RawCredentials: m.RawCredentials,
	}
	for _, a := range m.Actions {
		out.Actions = append(out.Actions, &pb.Action{
			Name:         a.Name,
			DisplayName:  a.DisplayName,
			Description:  a.Description,
			InputSchema:  a.Input,
			OutputSchema: a.Output,
			Idempotent:   a.Idempotent,
		})
	}
	for _, t := range m.Triggers {
		out.Triggers = append(out.Triggers, &pb.Trigger{
			Name:         t.Name,
			DisplayName:  t.DisplayName,
			Description:  t.Description,
			Kind:         t.Kind,
			InputSchema:  t.Input,
			OutputSchema: t.Output,
			Sample:       t.Sample,
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
