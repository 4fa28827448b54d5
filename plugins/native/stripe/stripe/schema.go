package stripe

import (
	"encoding/json"
	"slices"
)

// The helpers below build input schemas carrying the constraints Stripe's
// API reference states for each parameter (lengths, enums, required
// fields), so the host rejects bad input with a 4xx naming the field
// before any request reaches Stripe.

// P is a JSON Schema node or a properties map.
type P = map[string]any

func str(maxLen int) P { return P{"type": "string", "maxLength": maxLen} }

// ident is an object id (cus_..., pi_...): non-empty, Stripe's 5000 limit.
func ident() P { return P{"type": "string", "minLength": 1, "maxLength": 5000} }

func enum(values ...string) P { return P{"type": "string", "enum": values} }

func integer(min int) P { return P{"type": "integer", "minimum": min} }

func intRange(min, max int) P { return P{"type": "integer", "minimum": min, "maximum": max} }

func boolean() P { return P{"type": "boolean"} }

func email() P { return P{"type": "string", "maxLength": 512} }

func uri() P { return P{"type": "string", "maxLength": 5000, "pattern": "^https?://"} }

func strList(maxItems, maxLen int) P {
	a := P{"type": "array", "items": str(maxLen)}
	if maxItems > 0 {
		a["maxItems"] = maxItems
	}
	return a
}

// currency is a three-letter ISO code in lowercase, as Stripe requires.
func currency() P { return P{"type": "string", "pattern": "^[a-z]{3}$"} }

// statementDescriptor is at most 22 characters without <>\'" (Stripe).
func statementDescriptor() P {
	return P{"type": "string", "maxLength": 22, "pattern": `^[^<>\\'"]*$`}
}

// metadata is Stripe's metadata: at most 50 keys of up to 40 characters
// (no square brackets) with string values of up to 500 characters.
func metadata() P {
	return P{
		"type":                 "object",
		"maxProperties":        50,
		"propertyNames":        P{"minLength": 1, "maxLength": 40, "pattern": `^[^\[\]]+$`},
		"additionalProperties": P{"type": "string", "maxLength": 500},
	}
}

// expand lists the response fields to expand (expand[]).
func expand() P {
	return P{"type": "array", "maxItems": 20, "items": P{"type": "string", "minLength": 1, "maxLength": 5000}}
}

// rangeQuery is a timestamp filter: an exact Unix time or any of
// gt/gte/lt/lte (created[gte]=...).
func rangeQuery() P {
	return P{"oneOf": []any{
		integer(0),
		P{"type": "object", "additionalProperties": false, "minProperties": 1, "properties": P{
			"gt": integer(0), "gte": integer(0), "lt": integer(0), "lte": integer(0),
		}},
	}}
}

func address() P {
	return object(nil, P{
		"city": str(5000), "country": str(5000), "line1": str(5000),
		"line2": str(5000), "postal_code": str(5000), "state": str(5000),
	})
}

func shipping() P {
	return object([]string{"address", "name"}, P{"address": address(), "name": str(5000), "phone": str(5000)})
}

// object is a closed object schema with the given required properties.
func object(required []string, props P) P {
	o := P{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		slices.Sort(required)
		o["required"] = required
	}
	return o
}

func arrayOf(maxItems int, items P) P {
	a := P{"type": "array", "items": items}
	if maxItems > 0 {
		a["maxItems"] = maxItems
	}
	return a
}

// with returns base plus extra (extra wins).
func with(base P, extra P) P {
	out := make(P, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// idOnly is the input of an action addressing one object by id.
func idOnly(extra P) P { return with(P{"id": ident(), "expand": expand()}, extra) }

// listParams are the parameters every Stripe list takes: limit (1-100),
// cursor pagination with starting_after or ending_before (not both),
// expand[] and, where the list has it, the created filter.
func listParams(created bool, extra P) P {
	p := with(P{
		"limit":          intRange(1, 100),
		"starting_after": with(str(5000), P{"description": "id of the last object of the previous page (next_starting_after); not with ending_before"}),
		"ending_before":  with(str(5000), P{"description": "id of the first object of the following page, to page backwards (next_ending_before); not with starting_after"}),
		"expand":         expand(),
	}, extra)
	if created {
		p["created"] = rangeQuery()
	}
	return p
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
