package registry

import (
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// OfferedTrigger is one trigger that runs for a provider, with the
// implementation that runs it.
type OfferedTrigger struct {
	provider.Trigger
	Impl runtimes.Implementation
}

// OfferTriggers returns every trigger that runs for id, each once, with
// the implementation that runs it: the triggers of the native plugin and
// of the piece, in the order of preferPiece. The generic runtime has none.
func (r *Registry) OfferTriggers(id string, preferPiece bool) []OfferedTrigger {
	var out []OfferedTrigger
	seen := map[string]bool{}
	for _, kind := range order(preferPiece) {
		impl, ok := r.Get(id, kind)
		if !ok {
			continue
		}
		for _, t := range impl.Manifest().Triggers {
			if !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, OfferedTrigger{Trigger: t, Impl: impl})
			}
		}
	}
	return out
}
