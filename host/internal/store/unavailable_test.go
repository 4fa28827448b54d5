package store

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

type sqliteErr int

func (e sqliteErr) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e sqliteErr) Code() int     { return int(e) }

func TestUnavailable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&pgconn.PgError{Code: "57P01"}, true},  // admin_shutdown
		{&pgconn.PgError{Code: "08006"}, true},  // connection_failure
		{&pgconn.PgError{Code: "25006"}, true},  // read_only_sql_transaction
		{&pgconn.PgError{Code: "53100"}, true},  // disk_full
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation: the request's fault
		{&pgconn.PgError{Code: "22P02"}, false}, // invalid text representation
		{fmt.Errorf("write: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		{fmt.Errorf("read: %w", net.ErrClosed), true},
		{sqliteErr(5), true},        // SQLITE_BUSY
		{sqliteErr(8 | 1<<8), true}, // SQLITE_READONLY_RECOVERY
		{sqliteErr(13), true},       // SQLITE_FULL
		{sqliteErr(19), false},      // SQLITE_CONSTRAINT
		{errors.New("boom"), false},
		{io.ErrUnexpectedEOF, true},
	}
	for _, c := range cases {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
