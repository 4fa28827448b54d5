package runtimes

import (
	"context"
	"errors"

	"github.com/atomhq/atom/sdk/provider"
)

// Triggers is implemented by an Implementation that can serve the triggers
// its manifest lists (provider.Manifest.Triggers): a native plugin or a
// piece. An implementation whose manifest lists none, such as one built
// before triggers existed, is never called.
//
// Trigger runs one operation (provider.TriggerCall.Op). Like Execute, its
// requests go out through the host under the same outbound policy and
// credential scoping, bound to call's tenant; host answers its callbacks
// (Route runs without one and reaches nothing). The result is checked
// against the host's limits (package triggers) before it is returned.
// Errors: provider.ErrInvalidSignature (wrapped) for a webhook request
// whose signature the implementation refused, ErrTriggerFailed for a
// failure it reported, ErrUnknownTrigger for a call its manifest does not
// allow, ErrUnavailable as for Execute, and an error wrapping
// triggers.ErrInvalidResult for an answer past the limits.
type Triggers interface {
	Trigger(ctx context.Context, call provider.TriggerCall, host Host) (provider.TriggerResult, error)
}

// ErrTriggerFailed is returned (wrapped) when the implementation reported
// a failure of the trigger operation (an upstream error while polling,
// say); the message is the implementation's.
var ErrTriggerFailed = errors.New("trigger operation failed")

// ErrUnknownTrigger is returned (wrapped) for a call naming a trigger the
// manifest does not list, or an operation its kind does not have.
var ErrUnknownTrigger = errors.New("no such trigger operation")
