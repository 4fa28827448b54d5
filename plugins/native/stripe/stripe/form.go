package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// formValues encodes an action's input the way Stripe reads request
// parameters (https://docs.stripe.com/api/expanding_objects and the
// form-encoded examples throughout the reference): a nested object becomes
// parent[child], an array of scalars parent[] repeated, an array of objects
// parent[0][child], booleans true/false and numbers as written. The same
// encoding serves query strings (GET, DELETE) and form bodies (POST).
func formValues(in map[string]any) (url.Values, error) {
	v := url.Values{}
	keys := sortedKeys(in)
	for _, k := range keys {
		if err := encodeParam(v, k, k, in[k]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// encodeParam adds value under name. field is the dotted input path used
// in error diagnostics.
func encodeParam(v url.Values, name, field string, value any) error {
	switch x := value.(type) {
	case nil:
		// An absent value: Stripe has no null; leaving it out leaves the
		// field as it is.
	case string:
		v.Add(name, x)
	case bool:
		if x {
			v.Add(name, "true")
		} else {
			v.Add(name, "false")
		}
	case json.Number:
		v.Add(name, x.String())
	case map[string]any:
		for _, k := range sortedKeys(x) {
			// A bracket in a key would let it address another parameter
			// (metadata key "a][b" reads as metadata[a][b]); Stripe
			// rejects such keys anyway.
			if k == "" || strings.ContainsAny(k, "[]") {
				return provider.UserError(field, "keys must be non-empty and contain no square brackets")
			}
			if err := encodeParam(v, name+"["+k+"]", field+"."+k, x[k]); err != nil {
				return err
			}
		}
	case []any:
		scalars := true
		for _, e := range x {
			if _, ok := e.(map[string]any); ok {
				scalars = false
			}
		}
		for i, e := range x {
			if _, ok := e.([]any); ok {
				return provider.UserError(field, "nested arrays are not supported")
			}
			elem := name + "[]"
			if !scalars {
				elem = name + "[" + strconv.Itoa(i) + "]"
			}
			if err := encodeParam(v, elem, field, e); err != nil {
				return err
			}
		}
	default:
		return provider.UserError(field, "has an unsupported type")
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeInput reads the action's input as a generic object, numbers kept
// as written so that an amount is never rounded through a float.
func decodeInput(c *provider.Call) (map[string]any, error) {
	raw := bytes.TrimSpace(c.Request().Input)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, provider.UserError("", "input must be a JSON object")
	}
	if in == nil {
		in = map[string]any{}
	}
	return in, nil
}

// call runs one Stripe endpoint with the action's input: {id} in the path
// is filled from the input's id (one escaped path segment), the rest is
// encoded as query (GET, DELETE) or form body (POST). Every POST carries
// the execution id as Idempotency-Key: Stripe replays the first result for
// a retried execution instead of creating or charging twice, and a caller
// repeating its own Idempotency-Key to Atom reaches the same execution,
// hence the same key.
func (o op) call(ctx context.Context, c *provider.Call) (any, error) {
	if err := o.validate(c.Request().Input); err != nil {
		return nil, err
	}
	in, err := decodeInput(c)
	if err != nil {
		return nil, err
	}
	path := o.Path
	if strings.Contains(path, "{id}") {
		id, _ := in["id"].(string)
		seg, err := provider.PathSegment("id", id)
		if err != nil {
			return nil, err
		}
		path = strings.Replace(path, "{id}", seg, 1)
		delete(in, "id")
	}
	if o.List {
		if in["starting_after"] != nil && in["ending_before"] != nil {
			return nil, provider.UserError("ending_before", "give starting_after or ending_before, not both")
		}
	}
	params, err := formValues(in)
	if err != nil {
		return nil, err
	}
	client := c.HTTP()
	var out json.RawMessage
	switch o.Method {
	case http.MethodPost:
		if id := c.Request().ExecutionID; id != "" {
			client = client.WithHeader("Idempotency-Key", "atom-"+id)
		}
		err = client.PostForm(ctx, path, params, &out)
	default:
		err = client.Send(ctx, o.Method, path, params, "", nil, &out)
	}
	if err != nil {
		return nil, err
	}
	if o.List {
		return pageOf(out, in["ending_before"] != nil)
	}
	return out, nil
}

// Page is one page of a Stripe list.
type Page struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
	// NextStartingAfter is the starting_after of the next page, set when
	// HasMore and the page was read forwards.
	NextStartingAfter string `json:"next_starting_after,omitempty"`
	// NextEndingBefore is the ending_before of the next page, set when
	// HasMore and the page was read backwards (with ending_before).
	NextEndingBefore string `json:"next_ending_before,omitempty"`
}

func pageOf(raw json.RawMessage, backwards bool) (Page, error) {
	var page Page
	if err := json.Unmarshal(raw, &page); err != nil {
		return page, provider.Errorf("Stripe returned a list that could not be read: %v", err)
	}
	if page.Object == "" {
		page.Object = "list"
	}
	if page.Data == nil {
		page.Data = []json.RawMessage{}
	}
	if page.HasMore && len(page.Data) > 0 {
		edge := page.Data[len(page.Data)-1]
		if backwards {
			edge = page.Data[0]
		}
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(edge, &obj) == nil {
			if backwards {
				page.NextEndingBefore = obj.ID
			} else {
				page.NextStartingAfter = obj.ID
			}
		}
	}
	return page, nil
}
