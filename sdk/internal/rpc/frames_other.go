//go:build !unix

package rpc

import (
	"errors"
	"net"
	"os"
)

func sessionSocket() net.Conn { return nil }

// SocketPair is not available on this platform: plugins are called over
// a gRPC Session stream.
func SocketPair() (net.Conn, *os.File, error) {
	return nil, nil, errors.New("rpc: session sockets need a unix platform")
}
