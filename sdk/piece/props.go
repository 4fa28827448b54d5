package piece

import (
	"encoding/json"
	"sort"
)

// PropType is the kind of an action property, in the spirit of
// Activepieces' Property helpers.
type PropType string

// Property kinds. Each maps to a JSON Schema fragment (see Prop.Schema).
const (
	TypeShortText      PropType = "short_text"
	TypeLongText       PropType = "long_text"
	TypeNumber         PropType = "number"
	TypeCheckbox       PropType = "checkbox"
	TypeStaticDropdown PropType = "static_dropdown"
	TypeJSON           PropType = "json"
	TypeArray          PropType = "array"
	TypeObject         PropType = "object"
	TypeDateTime       PropType = "datetime"
)

// Option is one choice of a static dropdown.
type Option struct {
	Label string
	Value any
}

// Prop is one input property of an action. Build props with the
// constructors (ShortText, Number, …) and refine them with the chained
// methods, which return modified copies.
type Prop struct {
	Name        string
	DisplayName string
	Description string
	Type        PropType
	IsRequired  bool
	Default     any
	Options     []Option
	Items       *Prop
	Properties  []Prop
}

func newProp(t PropType, name, display string) Prop {
	return Prop{Name: name, DisplayName: display, Type: t}
}

// ShortText is a single-line string property.
func ShortText(name, display string) Prop { return newProp(TypeShortText, name, display) }

// LongText is a multi-line string property.
func LongText(name, display string) Prop { return newProp(TypeLongText, name, display) }

// Number is a numeric property.
func Number(name, display string) Prop { return newProp(TypeNumber, name, display) }

// Checkbox is a boolean property.
func Checkbox(name, display string) Prop { return newProp(TypeCheckbox, name, display) }

// DateTime is an RFC 3339 date-time string property.
func DateTime(name, display string) Prop { return newProp(TypeDateTime, name, display) }

// JSON is a property holding any JSON value.
func JSON(name, display string) Prop { return newProp(TypeJSON, name, display) }

// StaticDropdown is a property whose value is one of options.
func StaticDropdown(name, display string, options ...Option) Prop {
	p := newProp(TypeStaticDropdown, name, display)
	p.Options = options
	return p
}

// Array is a list property whose elements follow items.
func Array(name, display string, items Prop) Prop {
	p := newProp(TypeArray, name, display)
	p.Items = &items
	return p
}

// Object is an object property with the given properties.
func Object(name, display string, props ...Prop) Prop {
	p := newProp(TypeObject, name, display)
	p.Properties = props
	return p
}

// Required returns a copy of p that must be present in the input.
func (p Prop) Required() Prop { p.IsRequired = true; return p }

// Describe returns a copy of p with a description.
func (p Prop) Describe(text string) Prop { p.Description = text; return p }

// WithDefault returns a copy of p with a default value.
func (p Prop) WithDefault(v any) Prop { p.Default = v; return p }

// Schema returns the JSON Schema fragment of p.
func (p Prop) Schema() map[string]any {
	s := map[string]any{}
	switch p.Type {
	case TypeShortText:
		s["type"] = "string"
	case TypeLongText:
		s["type"] = "string"
		s["x-atom-widget"] = "textarea"
	case TypeNumber:
		s["type"] = "number"
	case TypeCheckbox:
		s["type"] = "boolean"
	case TypeDateTime:
		s["type"] = "string"
		s["format"] = "date-time"
	case TypeJSON:
		s["x-atom-widget"] = "json"
	case TypeStaticDropdown:
		values := make([]any, 0, len(p.Options))
		labels := make([]string, 0, len(p.Options))
		for _, o := range p.Options {
			values = append(values, o.Value)
			labels = append(labels, o.Label)
		}
		s["enum"] = values
		s["x-atom-labels"] = labels
	case TypeArray:
		s["type"] = "array"
		if p.Items != nil {
			s["items"] = p.Items.Schema()
		}
	case TypeObject:
		s = objectSchema(p.Properties)
	}
	if p.DisplayName != "" {
		s["title"] = p.DisplayName
	}
	if p.Description != "" {
		s["description"] = p.Description
	}
	if p.Default != nil {
		s["default"] = p.Default
	}
	return s
}

// objectSchema is the schema of an object with props as its properties.
// Unknown properties are allowed so that callers may pass extra fields a
// provider understands.
func objectSchema(props []Prop) map[string]any {
	properties := map[string]any{}
	var required []string
	for _, p := range props {
		properties[p.Name] = p.Schema()
		if p.IsRequired {
			required = append(required, p.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": properties}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

// InputSchema returns the JSON Schema of an input object holding props.
func InputSchema(props []Prop) json.RawMessage {
	s := objectSchema(props)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	b, _ := json.Marshal(s)
	return b
}
