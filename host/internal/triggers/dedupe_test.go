package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ev(id string, at time.Time) provider.Event {
	return provider.Event{ID: id, OccurredAt: at, Payload: json.RawMessage(`{"id":"` + id + `"}`)}
}

func ids(es []provider.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestApplyDedupesByIDAndWatermark(t *testing.T) {
	st := PollState{}
	// First poll, newest first as providers list them.
	fresh, st := Apply(st, provider.PollResult{
		Events: []provider.Event{ev("b", t0.Add(2*time.Second)), ev("a", t0.Add(time.Second))},
		State:  json.RawMessage(`{"cursor":1}`),
	}, DedupeOptions{})
	if got := ids(fresh); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first poll fresh = %v, want [a b] (oldest first)", got)
	}
	if !st.Watermark.Equal(t0.Add(2*time.Second)) || string(st.Provider) != `{"cursor":1}` || !st.Polled {
		t.Fatalf("state after first poll = %+v", st)
	}

	// Second poll: b again, c at b's instant (new), z older than the
	// watermark with an unknown id (old: it was before the last poll),
	// d newer, and d repeated.
	fresh, st = Apply(st, provider.PollResult{Events: []provider.Event{
		ev("d", t0.Add(3*time.Second)), ev("c", t0.Add(2*time.Second)), ev("b", t0.Add(2*time.Second)),
		ev("z", t0), ev("d", t0.Add(3*time.Second)),
	}}, DedupeOptions{})
	if got := ids(fresh); !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("second poll fresh = %v, want [c d]", got)
	}
	if !st.Watermark.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("watermark = %v", st.Watermark)
	}
	if st.Provider != nil {
		t.Fatalf("provider state = %s, want the poll's (none)", st.Provider)
	}

	// The same result again: nothing new, state unchanged but for the
	// provider's.
	again, st2 := Apply(st, provider.PollResult{Events: []provider.Event{ev("d", t0.Add(3*time.Second))}}, DedupeOptions{})
	if len(again) != 0 || !slices.Equal(st2.Seen, st.Seen) || !st2.Watermark.Equal(st.Watermark) {
		t.Fatalf("repeated poll: fresh %v, state %+v", ids(again), st2)
	}
}

func TestApplyWatermarkNeverMovesBack(t *testing.T) {
	st := PollState{Polled: true, Watermark: t0}
	_, st = Apply(st, provider.PollResult{Events: []provider.Event{ev("old", t0.Add(-time.Hour))}}, DedupeOptions{})
	if !st.Watermark.Equal(t0) {
		t.Fatalf("watermark moved back to %v", st.Watermark)
	}
}

func TestApplyUntimedItemsByIDAlone(t *testing.T) {
	st := PollState{Polled: true, Watermark: t0, Seen: []string{"x"}}
	fresh, st := Apply(st, provider.PollResult{Events: []provider.Event{ev("y", time.Time{}), ev("x", time.Time{}), ev("w", t0.Add(time.Second))}}, DedupeOptions{})
	// Not all new items are timed: the provider's order is kept.
	if got := ids(fresh); !slices.Equal(got, []string{"y", "w"}) {
		t.Fatalf("fresh = %v, want [y w]", got)
	}
	if !slices.Equal(st.Seen, []string{"x", "y", "w"}) {
		t.Fatalf("seen = %v", st.Seen)
	}
}

func TestApplySeenSetIsBounded(t *testing.T) {
	st := PollState{}
	for round := range 5 {
		var es []provider.Event
		for i := range 30 {
			es = append(es, ev(fmt.Sprintf("r%d-%d", round, i), time.Time{}))
		}
		fresh, next := Apply(st, provider.PollResult{Events: es}, DedupeOptions{MaxSeen: 50})
		if len(fresh) != 30 {
			t.Fatalf("round %d: %d fresh, want 30", round, len(fresh))
		}
		if len(next.Seen) > 50 {
			t.Fatalf("round %d: %d ids kept, more than 50", round, len(next.Seen))
		}
		st = next
	}
	// The most recent ids are those kept.
	if st.Seen[len(st.Seen)-1] != "r4-29" || st.Seen[0] != "r3-10" {
		t.Fatalf("seen kept %s..%s, want r3-10..r4-29", st.Seen[0], st.Seen[len(st.Seen)-1])
	}
}

func TestApplySkipBacklog(t *testing.T) {
	fresh, st := Apply(PollState{}, provider.PollResult{Events: []provider.Event{ev("a", t0), ev("b", t0)}}, DedupeOptions{SkipBacklog: true})
	if len(fresh) != 0 || !st.Polled || len(st.Seen) != 2 {
		t.Fatalf("first poll with SkipBacklog: fresh %v, state %+v", ids(fresh), st)
	}
	fresh, _ = Apply(st, provider.PollResult{Events: []provider.Event{ev("a", t0), ev("c", t0.Add(time.Second))}}, DedupeOptions{SkipBacklog: true})
	if got := ids(fresh); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second poll fresh = %v, want [c]", got)
	}
}

func TestPollStateRoundTripsAsJSON(t *testing.T) {
	_, st := Apply(PollState{}, provider.PollResult{Events: []provider.Event{ev("a", t0)}, State: json.RawMessage(`{"page":"p2"}`)}, DedupeOptions{})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back PollState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	fresh, _ := Apply(back, provider.PollResult{Events: []provider.Event{ev("a", t0)}}, DedupeOptions{})
	if len(fresh) != 0 || string(back.Provider) != `{"page":"p2"}` {
		t.Fatalf("state lost in JSON: %s", b)
	}
}

func TestCheckBoundsResults(t *testing.T) {
	l := Limits{MaxEvents: 2, MaxIDBytes: 8, MaxPayloadBytes: 32, MaxTotalBytes: 40, MaxStateBytes: 16,
		MaxRegistrationBytes: 16, MaxRouteBytes: 8, MaxReplyBytes: 8}
	ok := []struct {
		op string
		r  provider.TriggerResult
	}{
		{provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{ev("a", t0)}, State: json.RawMessage(`{"c":1}`)}},
		{provider.TriggerOpEnable, provider.TriggerResult{Registration: json.RawMessage(`{"id":"h1"}`)}},
		{provider.TriggerOpHandle, provider.TriggerResult{Reply: &provider.WebhookReply{Status: 200, Body: []byte("ok")}}},
		{provider.TriggerOpRoute, provider.TriggerResult{Route: "T123"}},
		{provider.TriggerOpDisable, provider.TriggerResult{}},
	}
	for _, c := range ok {
		if err := Check(c.op, c.r, l); err != nil {
			t.Errorf("%s: %v", c.op, err)
		}
	}
	big := json.RawMessage(`"` + strings.Repeat("x", 40) + `"`)
	bad := map[string]struct {
		op string
		r  provider.TriggerResult
	}{
		"too many events": {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{ev("a", t0), ev("b", t0), ev("c", t0)}}},
		"empty id":        {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{ev("", t0)}}},
		"long id":         {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{ev("123456789", t0)}}},
		"big payload":     {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{{ID: "a", Payload: big}}}},
		"not JSON":        {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{{ID: "a", Payload: json.RawMessage(`{`)}}}},
		"no payload":      {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{{ID: "a"}}}},
		"total": {provider.TriggerOpPoll, provider.TriggerResult{Events: []provider.Event{
			{ID: "a", Payload: json.RawMessage(`"` + strings.Repeat("x", 25) + `"`)},
			{ID: "b", Payload: json.RawMessage(`"` + strings.Repeat("x", 25) + `"`)}}}},
		"big state":            {provider.TriggerOpPoll, provider.TriggerResult{State: big}},
		"state not JSON":       {provider.TriggerOpPoll, provider.TriggerResult{State: json.RawMessage(`nope`)}},
		"state from handle":    {provider.TriggerOpHandle, provider.TriggerResult{State: json.RawMessage(`1`)}},
		"events from enable":   {provider.TriggerOpEnable, provider.TriggerResult{Events: []provider.Event{ev("a", t0)}}},
		"big registration":     {provider.TriggerOpEnable, provider.TriggerResult{Registration: big}},
		"registration on poll": {provider.TriggerOpPoll, provider.TriggerResult{Registration: json.RawMessage(`1`)}},
		"long route":           {provider.TriggerOpRoute, provider.TriggerResult{Route: "123456789"}},
		"big reply":            {provider.TriggerOpHandle, provider.TriggerResult{Reply: &provider.WebhookReply{Body: []byte("123456789")}}},
		"reply status":         {provider.TriggerOpHandle, provider.TriggerResult{Reply: &provider.WebhookReply{Status: 101}}},
	}
	for name, c := range bad {
		if err := Check(c.op, c.r, l); !errors.Is(err, ErrInvalidResult) {
			t.Errorf("%s: err = %v, want ErrInvalidResult", name, err)
		}
	}
}
