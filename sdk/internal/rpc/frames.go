package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// Protocol version 3 carries the frames of a Session (see session.go)
// over a socket the host hands the plugin process when it starts it,
// instead of over a gRPC stream: each frame is a 4-byte big-endian length
// and the protobuf encoding of a HostFrame or a PluginFrame. The frames
// and what they mean are those of version 2; what goes away is the HTTP/2
// machinery between them (the writer and reader goroutines each message
// passes through on both sides), which on a busy machine cost more than
// the execution itself. A plugin speaking version 3 serves the gRPC
// Session too: a host whose socket failed goes on over gRPC.

// SessionFDEnv names the environment variable through which the host
// tells a plugin process which of its descriptors is the session socket.
const SessionFDEnv = "ATOM_PLUGIN_SESSION_FD"

// keepFrameBuffer is the largest buffer a frame connection keeps between
// frames; a larger frame gets a buffer of its own.
const keepFrameBuffer = 64 << 10

// errFrameTooLarge: the peer announced a frame past the bound.
type errFrameTooLarge struct{ n, max uint32 }

func (e *errFrameTooLarge) Error() string {
	return fmt.Sprintf("frame of %d bytes exceeds the limit of %d", e.n, e.max)
}

// frameConn reads and writes length-prefixed protobuf frames. Writes are
// safe for concurrent use; reads are made by one goroutine.
type frameConn struct {
	c        net.Conn
	r        *bufio.Reader
	maxRead  uint32
	maxWrite int

	wmu  sync.Mutex
	wbuf []byte

	hdr  [4]byte
	rbuf []byte

	closeOnce sync.Once
}

func newFrameConn(c net.Conn, maxRead, maxWrite int) *frameConn {
	return &frameConn{c: c, r: bufio.NewReaderSize(c, keepFrameBuffer), maxRead: uint32(maxRead), maxWrite: maxWrite}
}

// write sends m as one frame, in one write.
func (f *frameConn) write(m proto.Message) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	b, err := proto.MarshalOptions{}.MarshalAppend(append(f.wbuf[:0], 0, 0, 0, 0), m)
	if err != nil {
		return err
	}
	n := len(b) - 4
	if n > f.maxWrite {
		return &errFrameTooLarge{n: uint32(min(n, 1<<32-1)), max: uint32(f.maxWrite)}
	}
	binary.BigEndian.PutUint32(b, uint32(n))
	_, err = f.c.Write(b)
	if cap(b) <= keepFrameBuffer {
		f.wbuf = b[:0]
	} else {
		f.wbuf = nil
	}
	return err
}

// read reads the next frame into m. A frame announced larger than the
// bound is an error before any of it is buffered.
func (f *frameConn) read(m proto.Message) error {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(f.hdr[:])
	if n > f.maxRead {
		return &errFrameTooLarge{n: n, max: f.maxRead}
	}
	buf := f.rbuf
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
		if n <= keepFrameBuffer {
			f.rbuf = buf
		}
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	// Unmarshal copies what it keeps: the buffer is reused.
	return proto.Unmarshal(buf, m)
}

func (f *frameConn) close() {
	f.closeOnce.Do(func() { _ = f.c.Close() })
}

// hostFrames is the host's end of a version 3 session.
type hostFrames struct{ f *frameConn }

func (h hostFrames) Send(m *pb.HostFrame) error { return h.f.write(m) }

func (h hostFrames) Recv() (*pb.PluginFrame, error) {
	m := new(pb.PluginFrame)
	if err := h.f.read(m); err != nil {
		return nil, err
	}
	return m, nil
}

// pluginFrames is the plugin's end of a version 3 session. Its context
// ends when the socket closes.
type pluginFrames struct {
	f      *frameConn
	ctx    context.Context
	cancel context.CancelFunc
}

func (p *pluginFrames) Send(m *pb.PluginFrame) error { return p.f.write(m) }

func (p *pluginFrames) Recv() (*pb.HostFrame, error) {
	m := new(pb.HostFrame)
	if err := p.f.read(m); err != nil {
		p.cancel()
		return nil, err
	}
	return m, nil
}

func (p *pluginFrames) Context() context.Context { return p.ctx }

// serveFrames serves a version 3 session on conn until the host closes
// it.
func (s *providerServer) serveFrames(conn net.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	pf := &pluginFrames{f: newFrameConn(conn, maxHTTPMessage, maxHTTPMessage), ctx: ctx, cancel: cancel}
	defer func() {
		cancel()
		pf.f.close()
	}()
	_ = s.serve(pf)
}
