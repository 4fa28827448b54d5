package jspiece

import (
	"encoding/json"
	"sort"

	"github.com/atomhq/atom/sdk/provider"
)

// Property types of the pieces framework (PropertyType).
const (
	propShortText     = "SHORT_TEXT"
	propLongText      = "LONG_TEXT"
	propNumber        = "NUMBER"
	propCheckbox      = "CHECKBOX"
	propStatic        = "STATIC_DROPDOWN"
	propStaticMulti   = "STATIC_MULTI_SELECT_DROPDOWN"
	propDropdown      = "DROPDOWN"
	propMultiDropdown = "MULTI_SELECT_DROPDOWN"
	propJSON          = "JSON"
	propArray         = "ARRAY"
	propObject        = "OBJECT"
	propDateTime      = "DATE_TIME"
	propFile          = "FILE"
	propMarkdown      = "MARKDOWN"
	propSecretText    = "SECRET_TEXT"
	propDynamic       = "DYNAMIC"
)

// ConnectionKinds maps the piece's PieceAuth kinds to Atom's connection
// kinds (provider.Credentials.Type), in the piece's order.
func (s Spec) ConnectionKinds() []string {
	var out []string
	for _, a := range s.Auth {
		switch a.Type {
		case "OAUTH2":
			out = append(out, "oauth2")
		case "SECRET_TEXT":
			out = append(out, "api_key")
		case "BASIC_AUTH":
			out = append(out, "basic")
		case "CUSTOM_AUTH":
			out = append(out, "custom")
		}
	}
	return out
}

// manifest maps the description to Atom's manifest: one action per
// framework action, its props as a JSON Schema.
func (s Spec) manifest(a Artifact) provider.Manifest {
	m := provider.Manifest{ID: a.ID, Name: s.DisplayName, Version: a.Version, Description: s.Description,
		Categories: s.Categories, AllowedHosts: a.Hosts}
	for _, act := range s.Actions {
		in, _ := json.Marshal(PropsSchema(act.Props))
		m.Actions = append(m.Actions, provider.Action{Name: act.Name, DisplayName: act.DisplayName,
			Description: act.Description, Input: in})
	}
	if opt, ok := s.optionsAction(); ok {
		m.Actions = append(m.Actions, opt)
	}
	for _, t := range s.Triggers {
		kind := triggerKind(t.Type)
		if kind == "" {
			continue
		}
		in, _ := json.Marshal(PropsSchema(t.Props))
		tr := provider.Trigger{Name: t.Name, DisplayName: t.DisplayName, Description: t.Description, Kind: kind, Input: in}
		if len(t.SampleData) > 0 && string(t.SampleData) != "null" && len(t.SampleData) <= maxSampleBytes {
			tr.Sample = t.SampleData
		}
		m.Triggers = append(m.Triggers, tr)
	}
	return m
}

// maxSampleBytes bounds the sample payload a trigger's manifest carries.
const maxSampleBytes = 16 << 10

// triggerKind maps the framework's TriggerStrategy to Atom's trigger kind;
// "" for a strategy Atom does not run.
func triggerKind(strategy string) string {
	switch strategy {
	case "POLLING":
		return provider.TriggerPolling
	case "WEBHOOK":
		return provider.TriggerWebhook
	case "APP_WEBHOOK":
		return provider.TriggerAppWebhook
	}
	return ""
}

// PropsSchema returns the JSON Schema of an object with props. A prop with
// a default is not required: the runtime fills the default in.
func PropsSchema(props map[string]PropSpec) map[string]any {
	properties := map[string]any{}
	required := []string{}
	for name, p := range props {
		sch := propSchema(p)
		if sch == nil {
			continue
		}
		properties[name] = sch
		if p.Required && len(p.DefaultValue) == 0 {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": properties}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// propSchema maps one prop; nil for display-only props.
func propSchema(p PropSpec) map[string]any {
	var s map[string]any
	switch p.Type {
	case propShortText, propLongText, propSecretText:
		s = map[string]any{"type": "string"}
	case propNumber:
		s = map[string]any{"type": "number"}
	case propCheckbox:
		s = map[string]any{"type": "boolean"}
	case propDateTime:
		s = map[string]any{"type": "string", "format": "date-time"}
	case propStatic:
		s = map[string]any{}
		if vals := optionValues(p.Options); len(vals) > 0 {
			s["enum"] = vals
		}
	case propStaticMulti:
		items := map[string]any{}
		if vals := optionValues(p.Options); len(vals) > 0 {
			items["enum"] = vals
		}
		s = map[string]any{"type": "array", "items": items}
	case propDropdown:
		// Options come from the provider at run time (options()).
		s = map[string]any{"x-atom-dynamic-options": true}
	case propMultiDropdown:
		s = map[string]any{"type": "array", "x-atom-dynamic-options": true}
	case propJSON:
		s = map[string]any{"type": []string{"object", "array"}}
	case propArray:
		items := map[string]any{"type": "string"}
		if len(p.Properties) > 0 {
			items = PropsSchema(p.Properties)
		}
		s = map[string]any{"type": "array", "items": items}
	case propObject, propDynamic:
		s = map[string]any{"type": "object"}
	case propFile:
		// A URL or base64 data; files are not served to JS pieces yet.
		s = map[string]any{"type": []string{"string", "object"}}
	case propMarkdown:
		return nil
	default:
		s = map[string]any{}
	}
	if p.DisplayName != "" {
		s["title"] = p.DisplayName
	}
	if p.Description != "" {
		s["description"] = p.Description
	}
	if len(p.DefaultValue) > 0 {
		s["default"] = p.DefaultValue
	}
	return s
}

func optionValues(opts []DropdownOption) []json.RawMessage {
	var vals []json.RawMessage
	for _, o := range opts {
		if len(o.Value) > 0 {
			vals = append(vals, o.Value)
		}
	}
	return vals
}
