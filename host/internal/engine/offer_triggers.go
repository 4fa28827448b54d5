package engine

import "github.com/atomhq/atom/sdk/provider"

// OfferedTrigger is one trigger that runs for a provider, with the kind
// of implementation that runs it.
type OfferedTrigger struct {
	provider.Trigger
	// Implementation is runtimes.KindNative or KindPiece.
	Implementation string
}

// OfferTriggers lists the triggers that run for id, each once
// (registry.OfferTriggers), on the integrations route or, when
// preferPiece, on the pieces route.
func (e *Engine) OfferTriggers(id string, preferPiece bool) []OfferedTrigger {
	offered := e.cfg.Registry.OfferTriggers(id, preferPiece)
	out := make([]OfferedTrigger, 0, len(offered))
	for _, o := range offered {
		out = append(out, OfferedTrigger{Trigger: o.Trigger, Implementation: o.Impl.Kind()})
	}
	return out
}
