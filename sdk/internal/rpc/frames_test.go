package rpc

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// TestFramesRoundTrip: frames written on one end are read whole, in
// order, on the other, buffers reused or not.
func TestFramesRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	host := hostFrames{newFrameConn(a, 1<<20, 1<<20)}
	plug := newFrameConn(b, 1<<20, 1<<20)
	bodies := [][]byte{[]byte("small"), make([]byte, 200<<10), []byte("small again")}
	go func() {
		for i, body := range bodies {
			_ = plug.write(&pb.PluginFrame{Seq: uint64(i + 1), Kind: &pb.PluginFrame_Http{Http: &pb.HTTPRequest{Body: body}}})
		}
	}()
	for i, body := range bodies {
		f, err := host.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if f.GetSeq() != uint64(i+1) || len(f.GetHttp().GetBody()) != len(body) || string(f.GetHttp().GetBody()[:5]) != string(body[:5]) {
			t.Fatalf("frame %d: seq %d, %d bytes", i, f.GetSeq(), len(f.GetHttp().GetBody()))
		}
	}
}

// TestFrameOverLimit: a frame announced past the reader's bound is refused
// from its length alone, before any of it is buffered; the writer refuses
// to send one past its own bound.
func TestFrameOverLimit(t *testing.T) {
	a, b := net.Pipe()
	host := hostFrames{newFrameConn(a, 1<<10, 1<<10)}
	go func() {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], 1<<31)
		_, _ = b.Write(hdr[:])
	}()
	_, err := host.Recv()
	var tl *errFrameTooLarge
	if !errors.As(err, &tl) || tl.n != 1<<31 {
		t.Fatalf("got %v, want a refusal of a 2 GiB frame", err)
	}
	if host.f.rbuf != nil {
		t.Fatal("the refused frame was buffered")
	}
	w := newFrameConn(b, 1<<10, 1<<10)
	err = w.write(&pb.PluginFrame{Kind: &pb.PluginFrame_Http{Http: &pb.HTTPRequest{Body: make([]byte, 2<<10)}}})
	if !errors.As(err, &tl) {
		t.Fatalf("writing a 2 KiB frame past a 1 KiB bound: %v", err)
	}
}
