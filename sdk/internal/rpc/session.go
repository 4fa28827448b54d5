package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// A session (protocol version 2) is one Provider.Session stream per plugin
// process. The host sends an execute frame per call and the plugin answers
// it with a result or error frame of the same seq; while a call runs, the
// plugin sends the call's HTTP requests as http frames of its own seq and
// the host answers each with an http frame. Either side cancels what it
// started with a cancel frame. Every HTTP request names the call_id of its
// execution and is answered only while that execution is in flight on
// this process, exactly as the unary Host.HTTP call is.

// errSessionUnimplemented: the plugin does not serve Session.
var errSessionUnimplemented = errors.New("rpc: plugin does not serve Session")

// hostStream is the host's end of a session: a gRPC Session stream
// (version 2) or a frame socket (version 3).
type hostStream interface {
	Send(*pb.HostFrame) error
	Recv() (*pb.PluginFrame, error)
}

// pluginStream is the plugin's end of a session.
type pluginStream interface {
	Send(*pb.PluginFrame) error
	Recv() (*pb.HostFrame, error)
	Context() context.Context
}

// hostSession is the host side of a session.
type hostSession struct {
	c      *Client
	st     hostStream
	cancel func() // ends the stream: a blocked Send or Recv returns

	// sendSem serializes sends (a stream allows one sender at a time); it
	// is a channel so that a caller can give up waiting for it.
	sendSem chan struct{}

	mu    sync.Mutex
	seq   uint64
	calls map[uint64]chan *pb.PluginFrame // executes awaiting an answer
	reqs  map[uint64]context.CancelFunc   // plugin requests being served
	done  chan struct{}                   // closed when the stream ended
	err   error                           // why, once done is closed
	got   bool                            // a frame was received
}

// session returns the open session, opening one if none is: on the
// frame socket the first time, if the plugin has one (version 3), and on
// a gRPC Session stream after that socket failed or without one.
func (c *Client) session() (*hostSession, error) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if s := c.sess; s != nil {
		select {
		case <-s.done:
		default:
			return s, nil
		}
	}
	var (
		st     hostStream
		cancel func()
	)
	if conn := c.frames; conn != nil {
		// A socket carries one session: once it fails, the process is
		// called over gRPC.
		c.frames = nil
		fc := newFrameConn(conn, maxHTTPMessage, maxHTTPMessage)
		st, cancel = hostFrames{fc}, fc.close
	} else {
		ctx, cancelCtx := context.WithCancel(context.Background())
		gst, err := c.provider.Session(ctx, grpc.MaxCallRecvMsgSize(maxHTTPMessage))
		if err != nil {
			cancelCtx()
			return nil, err
		}
		st, cancel = gst, cancelCtx
	}
	s := &hostSession{
		c: c, st: st, cancel: cancel,
		sendSem: make(chan struct{}, 1),
		calls:   map[uint64]chan *pb.PluginFrame{},
		reqs:    map[uint64]context.CancelFunc{},
		done:    make(chan struct{}),
	}
	c.sess = s
	go s.recv()
	return s, nil
}

// fail ends the session: pending calls fail with err.
func (s *hostSession) fail(err error) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	s.err = err
	close(s.done)
	for seq, cancel := range s.reqs {
		cancel()
		delete(s.reqs, seq)
	}
	s.mu.Unlock()
	s.cancel()
}

// sendGrace is how long a send may stay blocked after its caller's
// context ended before the session is taken for dead.
const sendGrace = 5 * time.Second

// send writes f. A send the plugin still does not take sendGrace after ctx
// ended (it stopped reading the stream) ends the session instead of
// blocking the caller for good.
func (s *hostSession) send(ctx context.Context, f *pb.HostFrame) error {
	select {
	case s.sendSem <- struct{}{}:
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-s.done:
		return s.err
	}
	var (
		mu    sync.Mutex
		sent  bool
		timer *time.Timer
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !sent {
			timer = time.AfterFunc(sendGrace, func() {
				s.fail(status.Error(codes.Unavailable, "the plugin does not read its session"))
			})
		}
	})
	err := s.st.Send(f)
	if !stop() {
		mu.Lock()
		sent = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
	}
	<-s.sendSem
	if err != nil {
		s.fail(status.Errorf(codes.Unavailable, "plugin session: %v", err))
		<-s.done
		return s.err
	}
	return nil
}

// execute runs one call on the session. errSessionUnimplemented means the
// plugin never saw it.
func (s *hostSession) execute(ctx context.Context, req *pb.ExecuteRequest) (*pb.ExecuteResponse, error) {
	fr, err := s.call(ctx, &pb.HostFrame{Kind: &pb.HostFrame_Execute{Execute: req}})
	if err != nil {
		return nil, err
	}
	if k, ok := fr.GetKind().(*pb.PluginFrame_Result); ok {
		return k.Result, nil
	}
	return nil, status.Error(codes.Internal, "plugin answered a call with an unexpected frame")
}

// trigger runs one trigger call on the session (protocol version 4). Its
// answer is bounded as the unary call's is (MaxTriggerMessage).
func (s *hostSession) trigger(ctx context.Context, req *pb.TriggerRequest) (*pb.TriggerResponse, error) {
	fr, err := s.call(ctx, &pb.HostFrame{Kind: &pb.HostFrame_Trigger{Trigger: req}})
	if err != nil {
		return nil, err
	}
	k, ok := fr.GetKind().(*pb.PluginFrame_TriggerResult)
	if !ok {
		return nil, status.Error(codes.Internal, "plugin answered a trigger call with an unexpected frame")
	}
	if k.TriggerResult == nil {
		return &pb.TriggerResponse{}, nil
	}
	if n := proto.Size(k.TriggerResult); n > MaxTriggerMessage {
		return nil, status.Errorf(codes.ResourceExhausted, "the trigger's answer is %d bytes, more than %d", n, MaxTriggerMessage)
	}
	return k.TriggerResult, nil
}

// call sends f (an execute or trigger frame) as a new call and returns the
// plugin's answer to it; an error frame is returned as the error it
// carries.
func (s *hostSession) call(ctx context.Context, f *pb.HostFrame) (*pb.PluginFrame, error) {
	ch := make(chan *pb.PluginFrame, 1)
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil, s.err
	default:
	}
	s.seq++
	seq := s.seq
	s.calls[seq] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.calls, seq)
		s.mu.Unlock()
	}
	f.Seq = seq
	if dl, ok := ctx.Deadline(); ok {
		f.TimeoutNs = max(int64(time.Until(dl)), 1)
	}
	if err := s.send(ctx, f); err != nil {
		forget()
		return nil, err
	}
	select {
	case fr := <-ch:
		if err := ctx.Err(); err != nil {
			// The answer and the deadline were both ready: the deadline
			// wins, as it does for a unary call, whatever the plugin
			// made of its own (later) deadline.
			return nil, status.FromContextError(err).Err()
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			// The deadline has passed but its timer has not fired yet
			// (a busy machine): it wins all the same.
			return nil, status.FromContextError(context.DeadlineExceeded).Err()
		}
		if k, ok := fr.GetKind().(*pb.PluginFrame_Error); ok {
			return nil, status.Error(codes.Code(k.Error.GetCode()), k.Error.GetMessage())
		}
		return fr, nil
	case <-s.done:
		forget()
		return nil, s.err
	case <-ctx.Done():
		forget()
		// Tell the plugin; the caller does not wait for it.
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = s.send(cctx, &pb.HostFrame{Seq: seq, Kind: &pb.HostFrame_Cancel{Cancel: &pb.Cancel{}}})
		}()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// recv reads the plugin's frames until the stream ends.
func (s *hostSession) recv() {
	for {
		f, err := s.st.Recv()
		if err != nil {
			s.mu.Lock()
			got := s.got
			s.mu.Unlock()
			switch {
			case !got && status.Code(err) == codes.Unimplemented:
				err = errSessionUnimplemented
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
				err = status.Error(codes.Unavailable, "plugin closed its session")
			case status.Code(err) != codes.Unavailable:
				err = status.Errorf(codes.Unavailable, "plugin session: %v", status.Convert(err).Message())
			}
			s.fail(err)
			return
		}
		s.mu.Lock()
		s.got = true
		s.mu.Unlock()
		switch k := f.GetKind().(type) {
		case *pb.PluginFrame_Result, *pb.PluginFrame_TriggerResult, *pb.PluginFrame_Error:
			s.mu.Lock()
			ch, ok := s.calls[f.GetSeq()]
			delete(s.calls, f.GetSeq())
			s.mu.Unlock()
			if ok {
				ch <- f
			}
		case *pb.PluginFrame_Http:
			s.serveHTTP(f.GetSeq(), k.Http)
		case *pb.PluginFrame_Cancel:
			s.mu.Lock()
			if cancel, ok := s.reqs[f.GetSeq()]; ok {
				cancel()
				delete(s.reqs, f.GetSeq())
			}
			s.mu.Unlock()
		}
		// Frames of unknown kinds (a newer plugin) are ignored.
	}
}

// serveHTTP answers the plugin's request seq with the handler of the
// execution it names, in the context of that execution.
func (s *hostSession) serveHTTP(seq uint64, req *pb.HTTPRequest) {
	call, ok := s.c.call(req.GetCallId())
	if !ok {
		go s.answer(seq, &pb.HTTPResponse{ErrorCode: "transport_error", ErrorMessage: errNoCall})
		return
	}
	if len(req.GetBody()) > MaxHTTPBody || proto.Size(req) > maxHTTPMessage {
		go s.answer(seq, &pb.HTTPResponse{ErrorCode: "too_large", ErrorMessage: fmt.Sprintf("the request exceeds %d bytes", maxHTTPMessage)})
		return
	}
	ctx, cancel := context.WithCancel(call.ctx)
	s.mu.Lock()
	if _, dup := s.reqs[seq]; dup {
		s.mu.Unlock()
		cancel()
		go s.answer(seq, &pb.HTTPResponse{ErrorCode: "invalid_request", ErrorMessage: "a request with this seq is in flight"})
		return
	}
	s.reqs[seq] = cancel
	s.mu.Unlock()
	go func() {
		resp, err := call.h.HTTP(ctx, req)
		s.mu.Lock()
		_, live := s.reqs[seq]
		delete(s.reqs, seq)
		s.mu.Unlock()
		cancel()
		if !live {
			return // canceled by the plugin or the session ended
		}
		if err != nil {
			resp = &pb.HTTPResponse{ErrorCode: "transport_error", ErrorMessage: err.Error()}
		}
		s.answer(seq, resp)
	}()
}

// answerTimeout bounds the send of an answer to a plugin request.
const answerTimeout = 30 * time.Second

func (s *hostSession) answer(seq uint64, resp *pb.HTTPResponse) {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	_ = s.send(ctx, &pb.HostFrame{Seq: seq, Kind: &pb.HostFrame_Http{Http: resp}})
}

// pluginSession is the plugin side of a session.
type pluginSession struct {
	s  *providerServer
	st pluginStream

	sendMu sync.Mutex

	mu    sync.Mutex
	seq   uint64
	calls map[uint64]context.CancelFunc    // executes running
	reqs  map[uint64]chan *pb.HTTPResponse // requests awaiting the host
	done  chan struct{}
}

// Session serves the stream until the host closes it.
func (s *providerServer) Session(st pb.Provider_SessionServer) error {
	if !s.session {
		return status.Error(codes.Unimplemented, "method Session not implemented")
	}
	return s.serve(st)
}

// serve serves a session until the host closes it.
func (s *providerServer) serve(st pluginStream) error {
	ps := &pluginSession{s: s, st: st,
		calls: map[uint64]context.CancelFunc{},
		reqs:  map[uint64]chan *pb.HTTPResponse{},
		done:  make(chan struct{}),
	}
	defer ps.close()
	for {
		f, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch k := f.GetKind().(type) {
		case *pb.HostFrame_Execute:
			ps.start(f.GetSeq(), f.GetTimeoutNs(), k.Execute.GetHostBrokerId(), k.Execute.GetCallId(), func(ctx context.Context, host HostCaller) (*pb.PluginFrame, error) {
				resp, err := ps.s.impl.Execute(ctx, k.Execute, host)
				return &pb.PluginFrame{Kind: &pb.PluginFrame_Result{Result: resp}}, err
			})
		case *pb.HostFrame_Trigger:
			ps.start(f.GetSeq(), f.GetTimeoutNs(), k.Trigger.GetHostBrokerId(), k.Trigger.GetCallId(), func(ctx context.Context, host HostCaller) (*pb.PluginFrame, error) {
				ts, ok := ps.s.impl.(TriggerServer)
				if !ok {
					return nil, status.Error(codes.Unimplemented, "this plugin serves no triggers")
				}
				resp, err := ts.Trigger(ctx, k.Trigger, host)
				return &pb.PluginFrame{Kind: &pb.PluginFrame_TriggerResult{TriggerResult: resp}}, err
			})
		case *pb.HostFrame_Http:
			ps.mu.Lock()
			ch, ok := ps.reqs[f.GetSeq()]
			delete(ps.reqs, f.GetSeq())
			ps.mu.Unlock()
			if ok {
				ch <- k.Http
			}
		case *pb.HostFrame_Cancel:
			ps.mu.Lock()
			if cancel, ok := ps.calls[f.GetSeq()]; ok {
				cancel()
			}
			ps.mu.Unlock()
		}
	}
}

// close cancels what still runs when the stream ends.
func (ps *pluginSession) close() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	close(ps.done)
	for _, cancel := range ps.calls {
		cancel()
	}
}

func (ps *pluginSession) send(f *pb.PluginFrame) error {
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	return ps.st.Send(f)
}

// start runs call seq (an execute or a trigger call, run) in its own
// goroutine and sends its answer.
func (ps *pluginSession) start(seq uint64, timeout int64, brokerID uint32, callID string, run func(context.Context, HostCaller) (*pb.PluginFrame, error)) {
	ctx, cancel := context.WithCancel(ps.st.Context())
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ps.st.Context(), time.Duration(timeout))
	}
	ps.mu.Lock()
	if _, dup := ps.calls[seq]; dup {
		ps.mu.Unlock()
		cancel()
		return
	}
	ps.calls[seq] = cancel
	ps.mu.Unlock()
	go func() {
		defer func() {
			ps.mu.Lock()
			delete(ps.calls, seq)
			ps.mu.Unlock()
			cancel()
		}()
		if brokerID != 0 {
			// Dial the host's service now, while the broker still holds
			// its connection info; Refresh, Log and the store use it.
			_, _ = ps.s.host(brokerID)
		}
		f, err := run(ctx, &hostCaller{s: ps.s, brokerID: brokerID, callID: callID, sess: ps})
		if err != nil {
			st := status.Convert(err)
			f = &pb.PluginFrame{Kind: &pb.PluginFrame_Error{Error: &pb.CallError{Code: uint32(st.Code()), Message: st.Message()}}}
		}
		f.Seq = seq
		var tooLarge *errFrameTooLarge
		if err := ps.send(f); errors.As(err, &tooLarge) {
			// A frame socket refuses to send past the host's bound: the
			// host hears why instead of waiting for an answer.
			_ = ps.send(&pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_Error{Error: &pb.CallError{
				Code: uint32(codes.ResourceExhausted), Message: "the result " + tooLarge.Error()}}})
		}
	}()
}

// http sends one request of the call callID to the host and waits for the
// answer.
func (ps *pluginSession) http(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	ch := make(chan *pb.HTTPResponse, 1)
	ps.mu.Lock()
	select {
	case <-ps.done:
		ps.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "the host closed the session")
	default:
	}
	ps.seq++
	seq := ps.seq
	ps.reqs[seq] = ch
	ps.mu.Unlock()
	forget := func() {
		ps.mu.Lock()
		delete(ps.reqs, seq)
		ps.mu.Unlock()
	}
	if err := ps.send(&pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_Http{Http: req}}); err != nil {
		forget()
		return nil, status.Errorf(codes.Unavailable, "session: %v", err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ps.done:
		forget()
		return nil, status.Error(codes.Unavailable, "the host closed the session")
	case <-ctx.Done():
		forget()
		_ = ps.send(&pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_Cancel{Cancel: &pb.Cancel{}}})
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}
