//go:build unix

package rpc

import (
	"net"
	"os"
	"strconv"
	"syscall"
)

// sessionSocket returns the session socket the host passed, if any. The
// variable is cleared so that nothing the plugin starts inherits the name.
func sessionSocket() net.Conn {
	v, ok := os.LookupEnv(SessionFDEnv)
	if !ok {
		return nil
	}
	_ = os.Unsetenv(SessionFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "atom-session")
	if f == nil {
		return nil
	}
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil
	}
	return conn
}

// SocketPair returns the two ends of a session socket: the host keeps
// the first, the plugin process inherits the second.
func SocketPair() (host net.Conn, child *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	hf := os.NewFile(uintptr(fds[0]), "atom-session-host")
	defer hf.Close()
	host, err = net.FileConn(hf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return host, os.NewFile(uintptr(fds[1]), "atom-session-plugin"), nil
}
