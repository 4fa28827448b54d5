// Package ports finds a loopback TCP port for a process a test or a
// benchmark starts later (a child `atom serve`, a private PostgreSQL).
//
// A port found by listening on port 0 and closing the listener comes from
// the kernel's ephemeral range, from which every outgoing connection of
// every process on the machine also takes its local port: between the
// close and the child's bind, another test's connection can take it (the
// child then fails with "address already in use"). Free picks ports below
// that range instead, which the kernel never hands out by itself, and
// checks that nothing listens on the one it returns.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the first port Free considers.
const lowest = 10000

// ephemeral returns the kernel's ephemeral port range.
func ephemeral() (lo, hi int) {
	lo, hi = 32768, 60999 // Linux's default
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || l > h {
		return lo, hi
	}
	return l, h
}

// Free returns a loopback port outside the ephemeral range that nothing
// listens on now; where the range leaves no room, a port from the kernel.
func Free() (int, error) {
	lo, hi := ephemeral()
	var from, to int // candidates [from, to)
	switch {
	case lo-lowest >= 1000:
		from, to = lowest, lo
	case 65535-hi >= 1000:
		from, to = hi+1, 65536
	}
	for range 200 {
		if to == 0 {
			break
		}
		p := from + rand.IntN(to-from)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // in use
		}
		l.Close()
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ports: no free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Must is Free for a test: it fails the test when no port is found.
func Must(t testing.TB) int {
	t.Helper()
	p, err := Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
