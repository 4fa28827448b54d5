// Package inputschema checks the input of an action or a trigger against
// the JSON Schema its manifest declares, compiling each distinct schema
// once, and names the field at fault when it refuses.
package inputschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// Refusal is an input the schema (or the JSON decoder) refused. Field is
// the JSON pointer of the value at fault ("input" when the input as a
// whole is), Message says what to fix.
type Refusal struct {
	Field   string
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// Checker checks inputs. The zero value is ready; it is safe for
// concurrent use.
type Checker struct {
	schemas sync.Map // schema text → *jsonschema.Schema or error
}

// Check decodes input, which must be a JSON object (empty means {}), and
// validates it against schema (no schema: any object). It returns a
// *Refusal for an input at fault, and another error for a schema that
// does not compile (the input is then not validated).
func (c *Checker) Check(schema, input json.RawMessage) error {
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return &Refusal{Field: "input", Message: "input is not valid JSON: " + err.Error()}
	}
	if _, ok := v.(map[string]any); !ok {
		return &Refusal{Field: "input", Message: "input must be a JSON object"}
	}
	if len(bytes.TrimSpace(schema)) == 0 {
		return nil
	}
	sch, err := c.compile(schema)
	if err != nil {
		return err
	}
	verr := sch.Validate(v)
	if verr == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return &Refusal{Field: "input", Message: "input: " + verr.Error()}
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
	return &Refusal{Field: ptr, Message: "input " + ptr + ": " + leaf.ErrorKind.LocalizedString(printer)}
}

// compile compiles schema once per distinct text (draft 2020-12 unless it
// says otherwise); a schema that does not compile is remembered too.
func (c *Checker) compile(schema json.RawMessage) (*jsonschema.Schema, error) {
	key := string(schema)
	if v, ok := c.schemas.Load(key); ok {
		if s, ok := v.(*jsonschema.Schema); ok {
			return s, nil
		}
		return nil, v.(error)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	var sch *jsonschema.Schema
	if err == nil {
		jc := jsonschema.NewCompiler()
		jc.DefaultDraft(jsonschema.Draft2020)
		const loc = "mem://input-schema.json"
		if err = jc.AddResource(loc, doc); err == nil {
			sch, err = jc.Compile(loc)
		}
	}
	if err != nil {
		c.schemas.Store(key, err)
		return nil, err
	}
	c.schemas.Store(key, sch)
	return sch, nil
}
