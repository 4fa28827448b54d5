package provider

import (
	"bytes"
	"encoding/json"
)

// Schema returns the JSON Schema s compacted, its keys in the order they
// were written, for ActionDef.Input and ActionDef.Output. It panics when s
// is not valid JSON: schemas are literals fixed at start-up.
func Schema(s string) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		panic("provider: bad schema: " + err.Error())
	}
	return buf.Bytes()
}

// SortedSchema is Schema with the object keys re-encoded in sorted order
// (and <, > and & escaped as encoding/json does), for manifests that must
// not depend on how a literal was laid out.
func SortedSchema(s string) json.RawMessage {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic("provider: bad schema: " + err.Error())
	}
	b, _ := json.Marshal(v)
	return b
}
