package stripe

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/atomhq/atom/sdk/provider"
)

// The host validates input against an action's schema before the plugin
// runs; the plugin checks again so that it refuses bad input on its own
// too (another host, a direct gRPC caller) with the same field-level
// message, and never sends it to Stripe.

var (
	schemaMu sync.Mutex
	schemas  = map[string]*jsonschema.Schema{}
	printer  = message.NewPrinter(language.English)
)

// compileSchema compiles an input schema as JSON Schema 2020-12, the
// draft the host uses.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "mem://stripe/" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

func (o op) schema() (*jsonschema.Schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[o.Name]; ok {
		return s, nil
	}
	s, err := compileSchema(o.Name, mustJSON(o.inputSchema()))
	if err != nil {
		return nil, err
	}
	schemas[o.Name] = s
	return s, nil
}

// validate checks raw against o's input schema and returns a user error
// naming the first offending field (dotted: metadata.plan, items.0.price).
func (o op) validate(raw json.RawMessage) error {
	sch, err := o.schema()
	if err != nil {
		return provider.Errorf("stripe: input schema of %s does not compile: %v", o.Name, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return provider.UserError("", "input is not valid JSON")
	}
	verr := sch.Validate(v)
	if verr == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return provider.UserError("", verr.Error())
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	return provider.UserError(strings.Join(leaf.InstanceLocation, "."), leaf.ErrorKind.LocalizedString(printer))
}
