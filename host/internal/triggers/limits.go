package triggers

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atomhq/atom/sdk/provider"
)

// Limits bound what a plugin or piece may answer to a trigger call. A
// plugin may be hostile: whatever it returns is checked against these
// before the host keeps or delivers any of it.
type Limits struct {
	// MaxEvents is the number of events one call may return.
	MaxEvents int
	// MaxIDBytes bounds an event's id.
	MaxIDBytes int
	// MaxPayloadBytes bounds one event's payload.
	MaxPayloadBytes int
	// MaxTotalBytes bounds the sum of the payloads of one call.
	MaxTotalBytes int
	// MaxStateBytes bounds the provider state a poll returns.
	MaxStateBytes int
	// MaxRegistrationBytes bounds the registration Enable returns.
	MaxRegistrationBytes int
	// MaxRouteBytes bounds the account id Route returns.
	MaxRouteBytes int
	// MaxReplyBytes bounds the body of a webhook reply.
	MaxReplyBytes int
}

// DefaultLimits are the limits the runtimes apply.
var DefaultLimits = Limits{
	MaxEvents:            500,
	MaxIDBytes:           256,
	MaxPayloadBytes:      256 << 10,
	MaxTotalBytes:        8 << 20,
	MaxStateBytes:        64 << 10,
	MaxRegistrationBytes: 16 << 10,
	MaxRouteBytes:        256,
	MaxReplyBytes:        64 << 10,
}

// MaxResultBytes is the largest encoded trigger result a runtime reads
// from a plugin or piece before checking it: the default limits' sum with
// room for encoding.
const MaxResultBytes = 12 << 20

// ErrInvalidResult is returned (wrapped) by Check for an answer that is
// malformed or past a limit; the message says which, without its content.
var ErrInvalidResult = errors.New("invalid trigger result")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidResult}, args...)...)
}

// Check validates the result of a trigger call of operation op against l:
// sizes, counts, non-empty unique-per-call ids and JSON payloads. Fields
// that op does not return must be empty.
func Check(op string, r provider.TriggerResult, l Limits) error {
	if len(r.Events) > 0 && op != provider.TriggerOpPoll && op != provider.TriggerOpHandle {
		return invalid("%s returns no events", op)
	}
	if len(r.Events) > l.MaxEvents {
		return invalid("%d events, more than %d", len(r.Events), l.MaxEvents)
	}
	total := 0
	for i, e := range r.Events {
		if e.ID == "" || len(e.ID) > l.MaxIDBytes {
			return invalid("event %d: id must have 1 to %d bytes", i, l.MaxIDBytes)
		}
		if len(e.Payload) > l.MaxPayloadBytes {
			return invalid("event %d: payload of %d bytes, more than %d", i, len(e.Payload), l.MaxPayloadBytes)
		}
		if len(e.Payload) == 0 || !json.Valid(e.Payload) {
			return invalid("event %d: payload is not JSON", i)
		}
		total += len(e.Payload)
		if total > l.MaxTotalBytes {
			return invalid("events of more than %d bytes in all", l.MaxTotalBytes)
		}
	}
	if len(r.State) > 0 {
		if op != provider.TriggerOpPoll {
			return invalid("%s returns no state", op)
		}
		if len(r.State) > l.MaxStateBytes {
			return invalid("state of %d bytes, more than %d", len(r.State), l.MaxStateBytes)
		}
		if !json.Valid(r.State) {
			return invalid("state is not JSON")
		}
	}
	if len(r.Registration) > 0 {
		if op != provider.TriggerOpEnable {
			return invalid("%s returns no registration", op)
		}
		if len(r.Registration) > l.MaxRegistrationBytes {
			return invalid("registration of %d bytes, more than %d", len(r.Registration), l.MaxRegistrationBytes)
		}
		if !json.Valid(r.Registration) {
			return invalid("registration is not JSON")
		}
	}
	if r.Route != "" && op != provider.TriggerOpRoute {
		return invalid("%s returns no route", op)
	}
	if len(r.Route) > l.MaxRouteBytes {
		return invalid("route of more than %d bytes", l.MaxRouteBytes)
	}
	if r.Reply != nil {
		if op != provider.TriggerOpHandle {
			return invalid("%s returns no reply", op)
		}
		if len(r.Reply.Body) > l.MaxReplyBytes {
			return invalid("reply of more than %d bytes", l.MaxReplyBytes)
		}
		if s := r.Reply.Status; s != 0 && (s < 200 || s > 599) {
			return invalid("reply status %d", s)
		}
	}
	return nil
}
