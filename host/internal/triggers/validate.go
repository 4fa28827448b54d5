package triggers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// validateInput checks input against schema (compiled once per distinct
// schema, cached in cache). It returns the JSON pointer of the field at
// fault and a message naming it when the input is refused; err reports a
// schema that does not compile (the input is then not validated).
func validateInput(cache *sync.Map, schema, input json.RawMessage) (field, msg string, err error) {
	v, jerr := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if jerr != nil {
		return "input", "input is not valid JSON: " + jerr.Error(), nil
	}
	if _, ok := v.(map[string]any); !ok {
		return "input", "input must be a JSON object", nil
	}
	if len(bytes.TrimSpace(schema)) == 0 {
		return "", "", nil
	}
	sch, err := compile(cache, schema)
	if err != nil {
		return "", "", err
	}
	verr := sch.Validate(v)
	if verr == nil {
		return "", "", nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return "input", "input: " + verr.Error(), nil
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	parts := make([]string, len(leaf.InstanceLocation))
	for i, p := range leaf.InstanceLocation {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
	}
	ptr := "/" + strings.Join(parts, "/")
	return ptr, "input " + ptr + ": " + leaf.ErrorKind.LocalizedString(printer), nil
}

func compile(cache *sync.Map, raw json.RawMessage) (*jsonschema.Schema, error) {
	sum := sha256.Sum256(raw)
	key := hex.EncodeToString(sum[:])
	if v, ok := cache.Load(key); ok {
		if s, ok := v.(*jsonschema.Schema); ok {
			return s, nil
		}
		return nil, v.(error)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	var sch *jsonschema.Schema
	if err == nil {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		loc := "mem://trigger-schema/" + key + ".json"
		if err = c.AddResource(loc, doc); err == nil {
			sch, err = c.Compile(loc)
		}
	}
	if err != nil {
		cache.Store(key, err)
		return nil, err
	}
	cache.Store(key, sch)
	return sch, nil
}
