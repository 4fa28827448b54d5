// Package triggers holds the host's logic of triggers that needs no
// storage: deduplicating the items of polls (by item id and by time
// watermark) and bounding what a plugin or piece answers to a trigger
// call. The engine keeps a PollState per trigger instance between polls.
package triggers

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// DefaultMaxSeen bounds the ids a PollState remembers.
const DefaultMaxSeen = 1000

// PollState is what the host keeps for one polling trigger instance
// between polls.
type PollState struct {
	// Polled is set once a poll has been applied.
	Polled bool `json:"polled,omitempty"`
	// Watermark is the latest OccurredAt of any item seen so far: an item
	// strictly older than it is not new.
	Watermark time.Time `json:"watermark,omitzero"`
	// Seen are the ids of the items seen most recently, oldest first,
	// at most MaxSeen of them: an item whose id is here is not new.
	Seen []string `json:"seen,omitempty"`
	// Provider is the state the provider's last poll returned, passed to
	// the next one.
	Provider json.RawMessage `json:"provider,omitempty"`
}

// DedupeOptions tune Apply.
type DedupeOptions struct {
	// MaxSeen bounds PollState.Seen (DefaultMaxSeen when zero). Size it
	// above the number of items a poll can return that share the
	// watermark's instant or carry no time.
	MaxSeen int
	// SkipBacklog: the first poll of an instance only records what
	// exists (ids and watermark) and reports nothing new, so that
	// enabling a trigger does not replay the provider's history.
	SkipBacklog bool
}

// Apply returns the items of one poll result that are new given the state
// before the poll, and the state to keep after it.
//
// An item is new when its id is not among the ids seen and it is not older
// than the watermark (an item at the watermark's instant may be new: two
// items can share a timestamp; the ids tell them apart). An item without
// a time is judged by its id alone. An id repeated within one result
// counts once. New items keep the provider's order, except that when every
// one has a time they are ordered oldest first (stable), the order in
// which they are delivered.
//
// The next watermark is the latest time of any item returned (never
// earlier than the previous one); the next seen ids are the previous ones
// followed by the new ones, the oldest dropped beyond MaxSeen. The
// provider's state is taken from res.
func Apply(prev PollState, res provider.PollResult, opt DedupeOptions) (fresh []provider.Event, next PollState) {
	maxSeen := opt.MaxSeen
	if maxSeen <= 0 {
		maxSeen = DefaultMaxSeen
	}
	seen := make(map[string]struct{}, len(prev.Seen)+len(res.Events))
	for _, id := range prev.Seen {
		seen[id] = struct{}{}
	}
	next = PollState{Polled: true, Watermark: prev.Watermark, Provider: res.State}
	next.Seen = append(next.Seen, prev.Seen...)
	timed := true
	for _, e := range res.Events {
		if !e.OccurredAt.IsZero() && e.OccurredAt.After(next.Watermark) {
			next.Watermark = e.OccurredAt
		}
		if _, dup := seen[e.ID]; dup {
			continue
		}
		if !e.OccurredAt.IsZero() && !prev.Watermark.IsZero() && e.OccurredAt.Before(prev.Watermark) {
			continue
		}
		seen[e.ID] = struct{}{}
		next.Seen = append(next.Seen, e.ID)
		if e.OccurredAt.IsZero() {
			timed = false
		}
		fresh = append(fresh, e)
	}
	if n := len(next.Seen) - maxSeen; n > 0 {
		next.Seen = slices.Clone(next.Seen[n:])
	}
	if opt.SkipBacklog && !prev.Polled {
		return nil, next
	}
	if timed {
		slices.SortStableFunc(fresh, func(a, b provider.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	}
	return fresh, next
}
