// Package rpc is the go-plugin glue of the atom.plugin.v1 protocol at the
// protobuf level: the handshake, the plugin set served by provider.Serve and
// dispensed by the host, and the Host service the host serves back to the
// plugin over go-plugin's broker. It knows nothing of the public SDK types;
// package provider (plugin side) and package pluginhost (host side) convert.
package rpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// ProtocolVersion is the newest go-plugin protocol version of
// atom.plugin.v1: version 4 carries trigger calls as session frames too.
const ProtocolVersion = 4

// ProtocolVersionFrames is the version that carries the Session's frames
// over a socket the host hands the process (see frames.go); trigger calls
// stay unary calls.
const ProtocolVersionFrames = 3

// ProtocolVersionSession is the version that carries Execute and the
// plugin's HTTP requests on one gRPC Session stream per process (see
// session.go).
const ProtocolVersionSession = 2

// ProtocolVersionUnary is the first protocol version: a unary Execute call
// per execution and a unary Host.HTTP call per request. Hosts and plugins
// of this SDK still speak it with peers that know nothing newer.
const ProtocolVersionUnary = 1

// PluginName is the name of the one plugin in the set.
const PluginName = "provider"

// Handshake is the go-plugin handshake shared by host and plugins. The
// magic cookie only tells a user who runs a plugin binary by hand that it
// is not meant to be run directly; it is not a security measure.
//
// Its ProtocolVersion is the version a go-plugin client configured with
// an unversioned plugin set (ClientConfig.Plugins) offers: version 1,
// which every plugin serves. VersionedPlugins offers both versions.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersionUnary,
	MagicCookieKey:   "ATOM_PLUGIN",
	MagicCookieValue: "c2b7d0a5-atom-provider-v1",
}

// serveVersions, set at link time to a comma-separated list
// (-ldflags "-X github.com/atomhq/atom/sdk/internal/rpc.serveVersions=1"),
// limits the protocol versions a plugin serves: tests build with it a
// plugin that speaks what a plugin of an older SDK speaks.
var serveVersions string

// Server is what the plugin side serves, at the protobuf level.
type Server interface {
	Manifest(ctx context.Context) (*pb.Manifest, error)
	// Execute runs one call; host reaches the Host service for it.
	Execute(ctx context.Context, req *pb.ExecuteRequest, host HostCaller) (*pb.ExecuteResponse, error)
}

// HostCaller reaches the host's Host service on behalf of one call.
type HostCaller interface {
	Refresh(ctx context.Context) (*pb.Credentials, error)
	Log(ctx context.Context, level, msg string) error
	StoreGet(ctx context.Context, key string) ([]byte, bool, error)
	StorePut(ctx context.Context, key string, value []byte) error
	HTTP(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error)
}

// MaxHTTPBody bounds the body of a request or an answer carried by the
// Host service's HTTP call; messages are sized to hold one.
const MaxHTTPBody = 32 << 20

// maxHTTPMessage is the largest HTTP message either side accepts: a body
// of MaxHTTPBody plus headers.
const maxHTTPMessage = MaxHTTPBody + 1<<20

// maxManifestMessage bounds a plugin's manifest as the host receives it.
// go-plugin's connection otherwise accepts messages up to 2 GiB, so the
// host sets a receive limit on every call it makes to a plugin: a hostile
// plugin cannot make the host buffer more than one bounded message.
const maxManifestMessage = 4 << 20

// HostHandler answers the Host calls of one execution on the host side.
type HostHandler interface {
	Refresh(ctx context.Context) (*pb.Credentials, error)
	Log(ctx context.Context, level, msg string)
	StoreGet(ctx context.Context, key string) ([]byte, bool, error)
	StorePut(ctx context.Context, key string, value []byte) error
	// HTTP sends one request of the execution upstream; refusals are
	// answered in the response (error_code), not as errors.
	HTTP(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error)
}

// Plugin is the go-plugin plugin of the protocol. On the plugin side Impl
// is set and GRPCServer serves it; on the host side Impl is nil and
// GRPCClient returns a *Client.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Server
	// Session is set in the plugin sets of protocol versions 2 and 3: the
	// host calls the plugin over a session.
	Session bool
	// Frames is set in the plugin sets of protocol versions 3 and 4: the
	// session runs on the socket named by SessionFDEnv, when the host
	// passed one.
	Frames bool
	// Triggers is set in the plugin set of protocol version 4: the host
	// sends trigger calls on the session.
	Triggers bool
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// PluginSets returns the versioned plugin sets for go-plugin's
// VersionedPlugins. impl is nil on the host side.
func PluginSets(impl Server) map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{
		ProtocolVersionUnary:   {PluginName: &Plugin{Impl: impl}},
		ProtocolVersionSession: {PluginName: &Plugin{Impl: impl, Session: true}},
		ProtocolVersionFrames:  {PluginName: &Plugin{Impl: impl, Session: true, Frames: true}},
		ProtocolVersion:        {PluginName: &Plugin{Impl: impl, Session: true, Frames: true, Triggers: true}},
	}
	if impl != nil && serveVersions != "" {
		only := strings.Split(serveVersions, ",")
		for v := range sets {
			if !slices.Contains(only, strconv.Itoa(v)) {
				delete(sets, v)
			}
		}
	}
	return sets
}

// NewGRPCServer is the gRPC server of a plugin: a Session frame
// may carry the answer to an HTTP request, up to MaxHTTPBody.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxHTTPMessage))...)
}

// GRPCServer registers the Provider service.
func (p *Plugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("rpc: plugin has no implementation to serve")
	}
	ps := &providerServer{impl: p.Impl, broker: broker, session: p.Session}
	pb.RegisterProviderServer(s, ps)
	if p.Frames {
		if conn := sessionSocket(); conn != nil {
			go ps.serveFrames(conn)
		}
	}
	return nil
}

// GRPCClient returns a *Client. The host's Host service starts on the
// broker with the first Execute, once for the life of the plugin process.
func (p *Plugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{
		provider: pb.NewProviderClient(conn),
		broker:   broker,
		calls:    map[string]callEntry{},
		stream:   p.Session,
		framing:  p.Frames,
		triggers: p.Triggers,
	}, nil
}

// Client is the host side of one plugin process.
type Client struct {
	provider pb.ProviderClient
	broker   *plugin.GRPCBroker

	// go-plugin's broker forgets a service's connection info that the
	// other side has not dialed within 5 seconds: the Host service is
	// announced with the first Execute, which the plugin answers by
	// dialing it at once, instead of when the process starts (a plugin
	// first calling its host later than 5 s after start could never
	// reach it).
	serve    sync.Once
	brokerID uint32

	mu    sync.RWMutex
	calls map[string]callEntry

	// stream: the plugin speaks protocol version 2; calls go over a
	// Session unless the plugin turned out not to serve it (unary).
	stream bool
	unary  atomic.Bool
	smu    sync.Mutex
	sess   *hostSession

	// framing: the plugin speaks version 3; frames is the host's end of
	// its session socket until a session takes it.
	framing bool
	frames  net.Conn

	// triggers: the plugin speaks version 4; trigger calls go over the
	// session like executions.
	triggers bool
}

// UseFrames hands the client the host's end of the plugin's session
// socket. It reports false, and leaves conn to the caller, when the
// plugin did not negotiate protocol version 3.
func (c *Client) UseFrames(conn net.Conn) bool {
	if !c.framing || !c.stream {
		return false
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.frames != nil || c.sess != nil {
		return false
	}
	c.frames = conn
	return true
}

// Close ends the client's session and closes its session socket, taken
// or not: call it once the plugin process is stopped.
func (c *Client) Close() {
	c.smu.Lock()
	conn, sess := c.frames, c.sess
	c.frames = nil
	c.smu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	if sess != nil {
		sess.fail(status.Error(codes.Unavailable, "the plugin process was stopped"))
	}
}

// Framed reports whether the open session (or the next one) runs on the
// session socket.
func (c *Client) Framed() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.frames != nil {
		return true
	}
	if s := c.sess; s != nil {
		_, ok := s.st.(hostFrames)
		select {
		case <-s.done:
			return false
		default:
			return ok
		}
	}
	return false
}

// callEntry is an execution in flight: the handler of its Host calls and
// its context, which bounds the HTTP requests it makes over a Session.
type callEntry struct {
	h   HostHandler
	ctx context.Context
}

// errNoCall answers a Host call naming no execution in flight.
const errNoCall = "no execution in flight with this call id"

// Streaming reports whether calls go over a Session stream.
func (c *Client) Streaming() bool { return c.stream && !c.unary.Load() }

// TriggersStreaming reports whether trigger calls go over the Session too
// (protocol version 4).
func (c *Client) TriggersStreaming() bool { return c.triggers && c.Streaming() }

// hostService announces and serves the Host service, once.
func (c *Client) hostService() uint32 {
	c.serve.Do(func() {
		c.brokerID = c.broker.NextId()
		go c.broker.AcceptAndServe(c.brokerID, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxHTTPMessage))...)
			pb.RegisterHostServer(s, &hostServer{c: c})
			return s
		})
	})
	return c.brokerID
}

// Manifest fetches the plugin's manifest.
func (c *Client) Manifest(ctx context.Context) (*pb.Manifest, error) {
	return c.provider.GetManifest(ctx, &pb.GetManifestRequest{}, grpc.MaxCallRecvMsgSize(maxManifestMessage))
}

// Execute runs one call. While it runs, Host calls naming its call id are
// answered by h; the call id is random and known only to this call.
func (c *Client) Execute(ctx context.Context, req *pb.ExecuteRequest, h HostHandler) (*pb.ExecuteResponse, error) {
	return callPlugin(ctx, c, h, c.Streaming(),
		func(id string, brokerID uint32) { req.CallId, req.HostBrokerId = id, brokerID },
		func(ctx context.Context, s *hostSession) (*pb.ExecuteResponse, error) { return s.execute(ctx, req) },
		func(ctx context.Context) (*pb.ExecuteResponse, error) {
			return c.provider.Execute(ctx, req, grpc.MaxCallRecvMsgSize(maxHTTPMessage))
		})
}

// callPlugin makes one call of the plugin (an execution or a trigger
// call). It gives the call a fresh call id, which name writes into the
// request with the Host service's broker id; while the call runs, the
// plugin's Host calls naming that id are answered by h, in the call's
// context. The call goes over the session when onSession is set, and
// unary otherwise — or when the plugin turns out to serve no Session: it
// never saw the call, and every call goes unary from then on.
func callPlugin[R any](ctx context.Context, c *Client, h HostHandler, onSession bool, name func(id string, brokerID uint32),
	viaSession func(context.Context, *hostSession) (R, error), unary func(context.Context) (R, error)) (R, error) {
	id := newCallID()
	// The call's HTTP requests served over a Session end with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.calls[id] = callEntry{h: h, ctx: ctx}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
	}()
	name(id, c.hostService())
	if onSession {
		s, err := c.session()
		if err != nil {
			var none R
			return none, err
		}
		resp, err := viaSession(ctx, s)
		if !errors.Is(err, errSessionUnimplemented) {
			return resp, err
		}
		c.unary.Store(true)
	}
	return unary(ctx)
}

func (c *Client) call(callID string) (callEntry, bool) {
	c.mu.RLock()
	e, ok := c.calls[callID]
	c.mu.RUnlock()
	return e, ok
}

func (c *Client) handler(callID string) (HostHandler, error) {
	e, ok := c.call(callID)
	if !ok {
		return nil, status.Error(codes.PermissionDenied, errNoCall)
	}
	return e.h, nil
}

func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostServer routes Host calls to the handler of the call they name.
type hostServer struct {
	pb.UnimplementedHostServer
	c *Client
}

func (s *hostServer) Refresh(ctx context.Context, req *pb.RefreshRequest) (*pb.Credentials, error) {
	h, err := s.c.handler(req.GetCallId())
	if err != nil {
		return nil, err
	}
	creds, err := h.Refresh(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return creds, nil
}

func (s *hostServer) Log(ctx context.Context, req *pb.LogRequest) (*pb.LogResponse, error) {
	h, err := s.c.handler(req.GetCallId())
	if err != nil {
		return nil, err
	}
	h.Log(ctx, req.GetLevel(), req.GetMessage())
	return &pb.LogResponse{}, nil
}

func (s *hostServer) StoreGet(ctx context.Context, req *pb.StoreGetRequest) (*pb.StoreGetResponse, error) {
	h, err := s.c.handler(req.GetCallId())
	if err != nil {
		return nil, err
	}
	v, ok, err := h.StoreGet(ctx, req.GetKey())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.StoreGetResponse{Value: v, Found: ok}, nil
}

func (s *hostServer) StorePut(ctx context.Context, req *pb.StorePutRequest) (*pb.StorePutResponse, error) {
	h, err := s.c.handler(req.GetCallId())
	if err != nil {
		return nil, err
	}
	if err := h.StorePut(ctx, req.GetKey(), req.GetValue()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.StorePutResponse{}, nil
}

func (s *hostServer) HTTP(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	h, err := s.c.handler(req.GetCallId())
	if err != nil {
		return nil, err
	}
	resp, err := h.HTTP(ctx, req)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

// providerServer serves the Provider service in the plugin process.
type providerServer struct {
	pb.UnimplementedProviderServer
	impl   Server
	broker *plugin.GRPCBroker
	// session: Session is served (protocol version 2 was negotiated).
	session bool

	mu    sync.Mutex
	hosts map[uint32]*hostConn
}

type hostConn struct {
	once   sync.Once
	client pb.HostClient
	err    error
}

func (s *providerServer) GetManifest(ctx context.Context, _ *pb.GetManifestRequest) (*pb.Manifest, error) {
	return s.impl.Manifest(ctx)
}

func (s *providerServer) Execute(ctx context.Context, req *pb.ExecuteRequest) (*pb.ExecuteResponse, error) {
	if id := req.GetHostBrokerId(); id != 0 {
		// Dial the host's service now, while the broker still holds its
		// connection info (see Client.serve); later calls reuse it.
		_, _ = s.host(id)
	}
	return s.impl.Execute(ctx, req, &hostCaller{s: s, brokerID: req.GetHostBrokerId(), callID: req.GetCallId()})
}

// host dials the host's Host service once per broker id and reuses it.
func (s *providerServer) host(id uint32) (pb.HostClient, error) {
	s.mu.Lock()
	if s.hosts == nil {
		s.hosts = map[uint32]*hostConn{}
	}
	hc, ok := s.hosts[id]
	if !ok {
		hc = &hostConn{}
		s.hosts[id] = hc
	}
	s.mu.Unlock()
	hc.once.Do(func() {
		conn, err := s.broker.Dial(id)
		if err != nil {
			hc.err = err
			return
		}
		hc.client = pb.NewHostClient(conn)
	})
	return hc.client, hc.err
}

// ErrNoHost is returned by Host calls when the call came without a host
// (a broker id of zero).
var ErrNoHost = errors.New("no host service for this call")

type hostCaller struct {
	s        *providerServer
	brokerID uint32
	callID   string
	sess     *pluginSession // the call came over a Session
}

func (h *hostCaller) client() (pb.HostClient, error) {
	if h.brokerID == 0 {
		return nil, ErrNoHost
	}
	return h.s.host(h.brokerID)
}

func (h *hostCaller) Refresh(ctx context.Context) (*pb.Credentials, error) {
	c, err := h.client()
	if err != nil {
		return nil, err
	}
	return c.Refresh(ctx, &pb.RefreshRequest{CallId: h.callID})
}

func (h *hostCaller) Log(ctx context.Context, level, msg string) error {
	c, err := h.client()
	if err != nil {
		return err
	}
	_, err = c.Log(ctx, &pb.LogRequest{CallId: h.callID, Level: level, Message: msg})
	return err
}

func (h *hostCaller) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	c, err := h.client()
	if err != nil {
		return nil, false, err
	}
	resp, err := c.StoreGet(ctx, &pb.StoreGetRequest{CallId: h.callID, Key: key})
	if err != nil {
		return nil, false, err
	}
	return resp.GetValue(), resp.GetFound(), nil
}

func (h *hostCaller) StorePut(ctx context.Context, key string, value []byte) error {
	c, err := h.client()
	if err != nil {
		return err
	}
	_, err = c.StorePut(ctx, &pb.StorePutRequest{CallId: h.callID, Key: key, Value: value})
	return err
}

func (h *hostCaller) HTTP(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	if h.sess != nil {
		req.CallId = h.callID
		return h.sess.http(ctx, req)
	}
	c, err := h.client()
	if err != nil {
		return nil, err
	}
	req.CallId = h.callID
	return c.HTTP(ctx, req, grpc.MaxCallRecvMsgSize(maxHTTPMessage), grpc.MaxCallSendMsgSize(maxHTTPMessage))
}
