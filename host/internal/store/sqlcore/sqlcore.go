// Package sqlcore implements store.Tx once for both SQL backends. A
// backend supplies a Dialect (placeholders, time and JSON encoding, error
// classification) and a Querier over its native transaction; the
// statements themselves are shared. Every statement filters on the
// transaction's tenant, so SQLite, which has no row-level security, is
// still isolated, and Postgres gets the filter twice.
package sqlcore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect adapts shared statements to one database.
type Dialect interface {
	// Rebind rewrites $1-style placeholders for the driver.
	Rebind(query string) string
	// Time encodes a time argument.
	Time(t time.Time) any
	// JSON encodes a JSON argument (nil for NULL) so that any bytes are
	// stored and ReadJSON gives them back unchanged.
	JSON(b []byte) any
	// ReadJSON decodes a JSON column value that JSON encoded.
	ReadJSON(b []byte) ([]byte, error)
	// IsUnique reports a unique-constraint violation.
	IsUnique(err error) bool
	// IsNoRows reports an empty single-row result.
	IsNoRows(err error) bool
	// ForUpdate is the row-lock suffix ("FOR UPDATE" or "").
	ForUpdate() string
	// UpsertConnectionConflict is the ON CONFLICT target of connections.
	UpsertConnectionConflict() string
}

// Rows is the subset of a result set the core uses.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result.
type Row interface {
	Scan(dest ...any) error
}

// Querier runs statements in one transaction.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Time scans a nullable time stored as a timestamp (Postgres) or as
// integer microseconds (SQLite).
type Time struct {
	T     time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = Time{}
	case time.Time:
		*t = Time{T: v.UTC(), Valid: true}
	case int64:
		*t = Time{T: time.UnixMicro(v).UTC(), Valid: true}
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("sqlcore: time %q: %w", v, err)
		}
		*t = Time{T: time.UnixMicro(n).UTC(), Valid: true}
	default:
		return fmt.Errorf("sqlcore: cannot scan %T into time", src)
	}
	return nil
}

// Ptr returns the time or nil.
func (t Time) Ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.T
	return &v
}

// Text scans a nullable text column into a string ("" for NULL).
type Text string

// Scan implements sql.Scanner.
func (s *Text) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s = ""
	case string:
		*s = Text(v)
	case []byte:
		*s = Text(v)
	default:
		return fmt.Errorf("sqlcore: cannot scan %T into text", src)
	}
	return nil
}

// Bytes scans a nullable text/blob/json column into bytes.
type Bytes []byte

// Scan implements sql.Scanner.
func (b *Bytes) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*b = nil
	case string:
		*b = Bytes(v)
	case []byte:
		*b = append(Bytes(nil), v...)
	case map[string]any, []any:
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		*b = raw
	default:
		return fmt.Errorf("sqlcore: cannot scan %T into bytes", src)
	}
	return nil
}

// Value implements driver.Valuer so Bytes can also be an argument.
func (b Bytes) Value() (driver.Value, error) {
	if b == nil {
		return nil, nil
	}
	return []byte(b), nil
}

var _ sql.Scanner = (*Time)(nil)

// Null returns nil for an empty string, so optional references are NULL.
func Null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Map encodes a string map as JSON ("{}" when empty).
func Map(m map[string]string) []byte {
	if len(m) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(m)
	return b
}

// ParseMap decodes a JSON string map.
func ParseMap(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return map[string]string{}, nil
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("sqlcore: decode map: %w", err)
	}
	return m, nil
}

// dollarRe-free rebind for SQLite: $N → ?N.
func RebindQuestion(q string) string {
	var sb strings.Builder
	sb.Grow(len(q))
	for i := 0; i < len(q); i++ {
		if q[i] == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			sb.WriteByte('?')
			continue
		}
		sb.WriteByte(q[i])
	}
	return sb.String()
}

// ErrNoTenant is returned when a transaction is opened without a tenant.
var ErrNoTenant = errors.New("store: tenant id required")
