package jspiece

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/atomhq/atom/sdk/provider"
)

// OptionsAction is the action a JS piece with dropdowns offers besides its
// own: it runs a dropdown prop's options() with the tenant's connection,
// sandboxed like any action, and returns what it returns ({options:
// [{label, value}], disabled, placeholder}).
const OptionsAction = "list_options"

// optionsInput is the input of OptionsAction.
type optionsInput struct {
	Action string          `json:"action"`
	Prop   string          `json:"prop"`
	Props  json.RawMessage `json:"props"`
}

// dynamicProps returns, by action name, the props whose options come from
// the provider.
func (s Spec) dynamicProps() map[string][]string {
	out := map[string][]string{}
	for _, a := range s.Actions {
		for name, p := range a.Props {
			if p.DynamicOptions {
				out[a.Name] = append(out[a.Name], name)
			}
		}
	}
	return out
}

// optionsAction returns the declaration of OptionsAction, when the piece
// has dropdowns and no action of that name of its own.
func (s Spec) optionsAction() (provider.Action, bool) {
	dyn := s.dynamicProps()
	if len(dyn) == 0 {
		return provider.Action{}, false
	}
	var actions, props []string
	seen := map[string]bool{}
	for a, ps := range dyn {
		actions = append(actions, a)
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				props = append(props, p)
			}
		}
	}
	for _, a := range s.Actions {
		if a.Name == OptionsAction {
			return provider.Action{}, false
		}
	}
	sort.Strings(actions)
	sort.Strings(props)
	in, _ := json.Marshal(map[string]any{"type": "object", "required": []string{"action", "prop"}, "additionalProperties": false,
		"properties": map[string]any{
			"action": map[string]any{"title": "Action", "description": "The action whose dropdown to fill.", "enum": actions},
			"prop":   map[string]any{"title": "Dropdown", "description": "The dropdown prop of that action.", "enum": props},
			"props":  map[string]any{"title": "Props", "description": "Values of the action's other props the dropdown depends on.", "type": "object"},
		}})
	return provider.Action{Name: OptionsAction, DisplayName: "List a dropdown's options",
		Description: "Runs the options of a dropdown prop with the connection, as the Activepieces builder does.", Input: in, Idempotent: true}, true
}

// target returns what __atom_call runs for action with input: the action
// itself, or for OptionsAction the action whose dropdown prop to fill.
func (p *Piece) target(action string, input json.RawMessage) (act string, options *string, props json.RawMessage, err error) {
	if action != OptionsAction || p.hasAction(OptionsAction) {
		return action, nil, input, nil
	}
	var in optionsInput
	if err := json.Unmarshal(input, &in); err != nil {
		return "", nil, nil, fmt.Errorf("%s input: %w", OptionsAction, err)
	}
	for _, prop := range p.spec.dynamicProps()[in.Action] {
		if prop == in.Prop {
			if len(in.Props) == 0 || string(in.Props) == "null" {
				in.Props = json.RawMessage(`{}`)
			}
			return in.Action, &in.Prop, in.Props, nil
		}
	}
	return "", nil, nil, fmt.Errorf("action %q has no dropdown %q whose options come from the provider", in.Action, in.Prop)
}

func (p *Piece) hasAction(name string) bool {
	for _, a := range p.spec.Actions {
		if a.Name == name {
			return true
		}
	}
	return false
}
