package rpc

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// pipeStream is a hostStream whose other end the test plays: it reads
// what the host sends and answers what it likes.
type pipeStream struct {
	sent chan *pb.HostFrame
	recv chan *pb.PluginFrame
}

func (p *pipeStream) Send(f *pb.HostFrame) error { p.sent <- f; return nil }

func (p *pipeStream) Recv() (*pb.PluginFrame, error) {
	f, ok := <-p.recv
	if !ok {
		return nil, io.EOF
	}
	return f, nil
}

func newPipeSession(t *testing.T) (*hostSession, *pipeStream) {
	t.Helper()
	st := &pipeStream{sent: make(chan *pb.HostFrame, 4), recv: make(chan *pb.PluginFrame, 4)}
	s := &hostSession{c: &Client{calls: map[string]callEntry{}}, st: st, cancel: func() {},
		sendSem: make(chan struct{}, 1),
		calls:   map[uint64]chan *pb.PluginFrame{},
		reqs:    map[uint64]context.CancelFunc{},
		done:    make(chan struct{}),
	}
	go s.recv()
	t.Cleanup(func() { close(st.recv) })
	return s, st
}

// TestSessionAnswersOfTheWrongKind: on a session, a hostile plugin that
// answers a trigger call with an execution's result (or the reverse), with
// an empty trigger result, with one past the trigger bound, or with an
// answer to a call that is not in flight gets nothing through: each call
// gets an error or an empty answer, and the call's own answer still
// arrives after a stray one.
func TestSessionAnswersOfTheWrongKind(t *testing.T) {
	s, st := newPipeSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type answer struct {
		resp any
		err  error
	}
	callTrigger := func() chan answer {
		ch := make(chan answer, 1)
		go func() {
			r, err := s.trigger(ctx, &pb.TriggerRequest{Op: "handle"})
			ch <- answer{r, err}
		}()
		return ch
	}
	callExecute := func() chan answer {
		ch := make(chan answer, 1)
		go func() {
			r, err := s.execute(ctx, &pb.ExecuteRequest{Action: "a"})
			ch <- answer{r, err}
		}()
		return ch
	}
	reply := func(kind func(seq uint64) *pb.PluginFrame) {
		f := <-st.sent
		st.recv <- kind(f.GetSeq())
	}

	ch := callTrigger()
	reply(func(seq uint64) *pb.PluginFrame {
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_Result{Result: &pb.ExecuteResponse{Output: []byte(`1`)}}}
	})
	if a := <-ch; status.Code(a.err) != codes.Internal {
		t.Fatalf("trigger answered as an execution: %v", a.err)
	}

	ch = callExecute()
	reply(func(seq uint64) *pb.PluginFrame {
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_TriggerResult{TriggerResult: &pb.TriggerResponse{Route: "x"}}}
	})
	if a := <-ch; status.Code(a.err) != codes.Internal {
		t.Fatalf("execution answered as a trigger call: %v", a.err)
	}

	ch = callTrigger()
	reply(func(seq uint64) *pb.PluginFrame {
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_TriggerResult{}}
	})
	if a := <-ch; a.err != nil || a.resp.(*pb.TriggerResponse) == nil || len(a.resp.(*pb.TriggerResponse).GetEvents()) != 0 {
		t.Fatalf("empty trigger result: %+v", a)
	}

	ch = callTrigger()
	reply(func(seq uint64) *pb.PluginFrame {
		big := &pb.TriggerResponse{Events: []*pb.TriggerEvent{{Id: "x", Payload: bytes.Repeat([]byte("p"), MaxTriggerMessage)}}}
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_TriggerResult{TriggerResult: big}}
	})
	if a := <-ch; status.Code(a.err) != codes.ResourceExhausted {
		t.Fatalf("trigger result past the bound: %v", a.err)
	}

	ch = callTrigger()
	reply(func(seq uint64) *pb.PluginFrame {
		// First an answer to a call that is not in flight, then its own.
		st.recv <- &pb.PluginFrame{Seq: seq + 100, Kind: &pb.PluginFrame_TriggerResult{TriggerResult: &pb.TriggerResponse{Route: "stray"}}}
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_TriggerResult{TriggerResult: &pb.TriggerResponse{Route: "own"}}}
	})
	if a := <-ch; a.err != nil || a.resp.(*pb.TriggerResponse).GetRoute() != "own" {
		t.Fatalf("after a stray answer: %+v", a)
	}

	ch = callTrigger()
	reply(func(seq uint64) *pb.PluginFrame {
		return &pb.PluginFrame{Seq: seq, Kind: &pb.PluginFrame_Error{Error: &pb.CallError{Code: uint32(codes.InvalidArgument), Message: "bad"}}}
	})
	if a := <-ch; status.Code(a.err) != codes.InvalidArgument {
		t.Fatalf("error frame: %v", a.err)
	}
}
