// Package pluginhost is the host side of the native plugin protocol
// (atom.plugin.v1 over hashicorp/go-plugin). A host builds a go-plugin
// client with Handshake and VersionedPlugins, dispenses the provider with
// Dispense, and calls Execute with a provider.Host that answers the
// plugin's callbacks for that one execution.
//
//	client := plugin.NewClient(&plugin.ClientConfig{
//		HandshakeConfig:  pluginhost.Handshake,
//		VersionedPlugins: pluginhost.VersionedPlugins(),
//		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
//		Cmd:              exec.Command(path),
//		SkipHostEnv:      true,
//	})
//	rpcClient, err := client.Client()
//	...
//	p, err := pluginhost.Dispense(ctx, rpcClient)
//	resp, err := p.Execute(ctx, req, host)
//
// For the fastest calls (protocol version 3), give the command a session
// socket before it starts and dispense with it:
//
//	sock, err := pluginhost.NewSessionSocket()
//	sock.Attach(cmd)
//	rpcClient, err := client.Client() // starts cmd
//	sock.Started()
//	p, err := pluginhost.DispenseSession(ctx, rpcClient, sock)
package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
	"github.com/atomhq/atom/sdk/internal/rpc"
	"github.com/atomhq/atom/sdk/provider"
)

// ProtocolVersion is the newest go-plugin protocol version this package
// speaks (3: one session per plugin process, on a socket the host hands
// it); it also speaks version 2 (the session on a gRPC stream) and 1
// (a unary call per execution) with plugins built with older SDKs.
const ProtocolVersion = rpc.ProtocolVersion

// Handshake is the go-plugin handshake of Atom plugins (magic cookie
// ATOM_PLUGIN).
var Handshake = rpc.Handshake

// VersionedPlugins returns the plugin sets for go-plugin's
// ClientConfig.VersionedPlugins: protocol versions 1 to 4, of which
// go-plugin picks the highest the plugin serves.
func VersionedPlugins() map[int]plugin.PluginSet {
	return rpc.PluginSets(nil)
}

// PluginMap returns the plugin set of protocol version 1 (the version of
// Handshake), for go-plugin's ClientConfig.Plugins: unary calls, which
// every plugin serves. Use VersionedPlugins to call plugins that serve
// version 2 over a Session stream.
func PluginMap() plugin.PluginSet {
	return rpc.PluginSets(nil)[rpc.ProtocolVersionUnary]
}

// ErrUnavailable wraps the error of a call that failed because the plugin
// could not be reached (its process died or its connection closed).
var ErrUnavailable = errors.New("plugin unavailable")

// Client calls one plugin process. It is safe for concurrent use.
type Client struct {
	c        *rpc.Client
	manifest provider.Manifest
}

// SessionSocket is the socket a plugin process's session runs on under
// protocol version 3: a socket pair, one end kept by the host, the other
// inherited by the process.
type SessionSocket struct {
	host  net.Conn
	child *os.File
}

// NewSessionSocket creates a session socket (unix platforms only).
func NewSessionSocket() (*SessionSocket, error) {
	h, c, err := rpc.SocketPair()
	if err != nil {
		return nil, err
	}
	return &SessionSocket{host: h, child: c}, nil
}

// Attach makes the socket cmd's next extra file and names its descriptor
// in cmd's environment. Call it after cmd.Env is set and before the
// command starts.
func (s *SessionSocket) Attach(cmd *exec.Cmd) {
	cmd.ExtraFiles = append(cmd.ExtraFiles, s.child)
	cmd.Env = append(cmd.Env, rpc.SessionFDEnv+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
}

// Started closes the host's copy of the process's end, once the process
// holds it: the host then sees the socket close when the process exits.
func (s *SessionSocket) Started() {
	if s.child != nil {
		_ = s.child.Close()
		s.child = nil
	}
}

// Close closes both ends that DispenseSession did not take.
func (s *SessionSocket) Close() {
	s.Started()
	if s.host != nil {
		_ = s.host.Close()
		s.host = nil
	}
}

// Dispense takes the provider from a started go-plugin client protocol and
// reads its manifest.
func Dispense(ctx context.Context, cp plugin.ClientProtocol) (*Client, error) {
	return DispenseSession(ctx, cp, nil)
}

// DispenseSession is Dispense for a process started with sock attached:
// when the plugin negotiated protocol version 3, its calls run on the
// socket; otherwise the socket is closed and they go over gRPC.
func DispenseSession(ctx context.Context, cp plugin.ClientProtocol, sock *SessionSocket) (*Client, error) {
	if sock != nil {
		defer sock.Close()
	}
	raw, err := cp.Dispense(rpc.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense provider: %w", err)
	}
	rc, ok := raw.(*rpc.Client)
	if !ok {
		return nil, fmt.Errorf("dispense provider: unexpected type %T", raw)
	}
	m, err := rc.Manifest(ctx)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", transportError(err))
	}
	if sock != nil && sock.host != nil && rc.UseFrames(sock.host) {
		sock.host = nil
	}
	return &Client{c: rc, manifest: manifestFromPB(m)}, nil
}

// Close ends the client's session and closes its session socket. Call it
// once the plugin process is stopped (killing the process alone leaves an
// unused socket open in the host).
func (c *Client) Close() { c.c.Close() }

// Framed reports whether calls run on the session socket (protocol
// version 3) rather than a gRPC stream.
func (c *Client) Framed() bool { return c.c.Framed() }

// Manifest returns the manifest read when the client was dispensed.
func (c *Client) Manifest() provider.Manifest { return c.manifest }

// TriggersStreaming reports whether trigger calls go over the session as
// well (protocol version 4) rather than a unary call each.
func (c *Client) TriggersStreaming() bool { return c.c.TriggersStreaming() }

// Streaming reports whether calls go over one Session stream (protocol
// version 2) rather than a unary call each (version 1, a plugin built with
// an older SDK).
func (c *Client) Streaming() bool { return c.c.Streaming() }

// Execute runs one action in the plugin. While it runs, the plugin's host
// calls for it are answered by host. A failure to reach the plugin wraps
// ErrUnavailable; an error the plugin itself returned does not.
func (c *Client) Execute(ctx context.Context, req provider.Request, host provider.Host) (provider.Response, error) {
	if host == nil {
		host = provider.HostFrom(ctx)
	}
	resp, err := c.c.Execute(ctx, requestToPB(req), hostHandler{h: host})
	if err != nil {
		return provider.Response{}, transportError(err)
	}
	return responseFromPB(resp), nil
}

func transportError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	case codes.Canceled, codes.DeadlineExceeded:
		return fmt.Errorf("plugin call: %s: %w", st.Message(), contextError(st.Code()))
	}
	return fmt.Errorf("plugin call: %s", st.Message())
}

func contextError(c codes.Code) error {
	if c == codes.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// hostHandler answers a plugin's host calls for one execution.
type hostHandler struct {
	h provider.Host
}

func (h hostHandler) Refresh(ctx context.Context) (*pb.Credentials, error) {
	c, err := h.h.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	return credentialsToPB(c), nil
}

func (h hostHandler) Log(ctx context.Context, level, msg string) { h.h.Log(ctx, level, msg) }

func (h hostHandler) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	return h.h.StoreGet(ctx, key)
}

func (h hostHandler) StorePut(ctx context.Context, key string, value []byte) error {
	return h.h.StorePut(ctx, key, value)
}

// HTTP answers the plugin's request through the host's provider.Egress.
// Without one, requests are refused: a plugin served by this package has
// no other way out.
func (h hostHandler) HTTP(ctx context.Context, in *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	eg, ok := h.h.(provider.Egress)
	if !ok {
		return refusal(&provider.EgressError{Code: provider.EgressHostNotAllowed, Message: "this host sends no requests for plugins"}), nil
	}
	req, err := http.NewRequestWithContext(ctx, in.GetMethod(), in.GetUrl(), bytes.NewReader(in.GetBody()))
	if err != nil {
		return refusal(&provider.EgressError{Code: provider.EgressInvalidRequest, Message: "request: " + err.Error()}), nil
	}
	if len(in.GetBody()) == 0 {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	for _, hd := range in.GetHeaders() {
		req.Header[http.CanonicalHeaderKey(hd.GetName())] = append(req.Header[http.CanonicalHeaderKey(hd.GetName())], hd.GetValues()...)
	}
	resp, err := eg.RoundTrip(ctx, req)
	if err != nil {
		var ee *provider.EgressError
		if errors.As(err, &ee) {
			return refusal(ee), nil
		}
		return refusal(&provider.EgressError{Code: provider.EgressTransport, Message: err.Error()}), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, rpc.MaxHTTPBody+1))
	if err != nil {
		return refusal(&provider.EgressError{Code: provider.EgressTransport, Message: "reading the answer failed"}), nil
	}
	if len(body) > rpc.MaxHTTPBody {
		return refusal(&provider.EgressError{Code: provider.EgressTooLarge, Message: fmt.Sprintf("the answer exceeds %d bytes", rpc.MaxHTTPBody)}), nil
	}
	out := &pb.HTTPResponse{Status: int32(resp.StatusCode), Body: body}
	for k, vs := range resp.Header {
		out.Headers = append(out.Headers, &pb.Header{Name: k, Values: vs})
	}
	return out, nil
}

func refusal(e *provider.EgressError) *pb.HTTPResponse {
	return &pb.HTTPResponse{ErrorCode: e.Code, ErrorMessage: e.Message, RetryAfterMs: e.RetryAfter.Milliseconds()}
}

func manifestFromPB(m *pb.Manifest) provider.Manifest {
	out := provider.Manifest{
		ID:          m.GetId(),
		Name:        m.GetName(),
		Version:     m.GetVersion(),
		Description: m.GetDescription(),
		Categories:  m.GetCategories(),

		AllowedHosts:   m.GetAllowedHosts(),
		RawCredentials: m.GetRawCredentials(),
	}
	for _, a := range m.GetActions() {
		out.Actions = append(out.Actions, provider.Action{
			Name:        a.GetName(),
			DisplayName: a.GetDisplayName(),
			Description: a.GetDescription(),
			Input:       a.GetInputSchema(),
			Output:      a.GetOutputSchema(),
			Idempotent:  a.GetIdempotent(),
		})
	}
	for _, t := range m.GetTriggers() {
		out.Triggers = append(out.Triggers, provider.Trigger{
			Name:        t.GetName(),
			DisplayName: t.GetDisplayName(),
			Description: t.GetDescription(),
			Kind:        t.GetKind(),
			Input:       t.GetInputSchema(),
			Output:      t.GetOutputSchema(),
			Sample:      t.GetSample(),
		})
	}
	return out
}

func requestToPB(r provider.Request) *pb.ExecuteRequest {
	return &pb.ExecuteRequest{
		ExecutionId: r.ExecutionID,
		TenantId:    r.TenantID,
		Action:      r.Action,
		Input:       r.Input,
		Credentials: credentialsToPB(r.Credentials),
		BaseUrl:     r.BaseURL,
	}
}

func credentialsToPB(c provider.Credentials) *pb.Credentials {
	out := &pb.Credentials{
		Type:        c.Type,
		AccessToken: c.AccessToken,
		TokenSecret: c.TokenSecret,
		TokenType:   c.TokenType,
		ApiKey:      c.APIKey,
		Username:    c.Username,
		Password:    c.Password,
		Fields:      c.Fields,
		Metadata:    c.Metadata,
		Params:      c.Params,
	}
	if !c.ExpiresAt.IsZero() {
		out.ExpiresAtUnixNano = c.ExpiresAt.UnixNano()
	}
	return out
}

func responseFromPB(r *pb.ExecuteResponse) provider.Response {
	out := provider.Response{Output: r.GetOutput()}
	for _, d := range r.GetDiagnostics() {
		out.Diagnostics = append(out.Diagnostics, provider.Diagnostic{
			Severity: d.GetSeverity(),
			Summary:  d.GetSummary(),
			Detail:   d.GetDetail(),
			Field:    d.GetField(),
			Status:   int(d.GetStatus()),
		})
	}
	return out
}
