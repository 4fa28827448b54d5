package app

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the host's garbage collection target when the
// environment sets no GOGC: the heap may grow to three times what is live
// before a collection, instead of Go's twice. The host's live heap is
// small and every request allocates, so at Go's default it collects many
// times a second under load; each collection scans every goroutine's
// stack and makes allocating requests assist it.
const DefaultGCPercent = 200

// SetGCDefault applies DefaultGCPercent unless GOGC is set (GOGC and
// GOMEMLIMIT keep their usual meaning).
func SetGCDefault() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
}
