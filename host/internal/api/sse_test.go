package api

import (
	"strings"
	"testing"
)

// TestSSEFieldOneLine: an event type with line breaks cannot add fields to
// a server-sent event.
func TestSSEFieldOneLine(t *testing.T) {
	if got := sseField("connection.created\ndata: forged\r\nid: 9"); strings.ContainsAny(got, "\r\n") {
		t.Fatalf("sseField kept a line break: %q", got)
	}
	if got := sseField("connection.created"); got != "connection.created" {
		t.Fatalf("sseField changed a plain type: %q", got)
	}
}
