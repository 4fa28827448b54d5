package ports

import (
	"net"
	"strconv"
	"testing"
)

// TestFreeOutsideEphemeral: the ports Free returns lie outside the range
// the kernel hands out to connections and to listeners on port 0, and
// can be bound.
func TestFreeOutsideEphemeral(t *testing.T) {
	lo, hi := ephemeral()
	for range 50 {
		p := Must(t)
		if p >= lo && p <= hi {
			t.Fatalf("port %d lies in the ephemeral range %d-%d", p, lo, hi)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		l.Close()
	}
	// A port in use is not returned: hold many and ask again.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	seen := map[int]bool{}
	for range 50 {
		p := Must(t)
		if seen[p] {
			t.Fatalf("port %d returned while held", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		held = append(held, l)
	}
}
