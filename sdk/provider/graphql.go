package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// GraphQLErrorItem is one entry of a GraphQL response's "errors" array.
type GraphQLErrorItem struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code returns the item's extensions.code (or extensions.type), if any.
func (it GraphQLErrorItem) Code() string {
	for _, k := range []string{"code", "type"} {
		if s, ok := it.Extensions[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// GraphQLError is a GraphQL response that carried errors, which GraphQL
// APIs usually return with HTTP 200. It unwraps to a *DiagnosticError with
// one error diagnostic per item, so a handler may return it as is.
type GraphQLError struct {
	// Status is the HTTP status of the response.
	Status int
	// Errors are the response's errors, in order.
	Errors []GraphQLErrorItem
}

// Error joins the messages of the errors.
func (e *GraphQLError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, it := range e.Errors {
		msgs = append(msgs, it.Message)
	}
	return "graphql: " + strings.Join(msgs, "; ")
}

// Unwrap returns the diagnostics the errors become: the message as the
// summary and the path and code in the detail.
func (e *GraphQLError) Unwrap() error {
	ds := make([]Diagnostic, 0, len(e.Errors))
	for _, it := range e.Errors {
		d := Diagnostic{Severity: SeverityError, Summary: it.Message, Status: e.Status}
		if d.Summary == "" {
			d.Summary = "GraphQL error"
		}
		var parts []string
		if len(it.Path) > 0 {
			p := make([]string, len(it.Path))
			for i, s := range it.Path {
				p[i] = fmt.Sprint(s)
			}
			parts = append(parts, "path "+strings.Join(p, "."))
		}
		if code := it.Code(); code != "" {
			parts = append(parts, "code "+code)
		}
		d.Detail = strings.Join(parts, "; ")
		ds = append(ds, d)
	}
	return &DiagnosticError{Diagnostics: ds}
}

// GraphQL posts {"query","variables"} to path and decodes the response's
// "data" into out. A response with a non-empty "errors" array, whatever
// its HTTP status, is returned as a *GraphQLError (out still receives any
// partial data); any other non-2xx response, or a 2xx one without "data"
// (some APIs answer errors in their own shape with HTTP 200), is returned
// as an *HTTPError read by HTTPOptions.DecodeError. variables may be nil (or a nil map).
func (c *HTTPClient) GraphQL(ctx context.Context, path, query string, variables, out any) error {
	payload := map[string]any{"query": query}
	if variables != nil {
		vars, err := json.Marshal(variables)
		if err != nil {
			return fmt.Errorf("provider: encode graphql variables: %w", err)
		}
		if string(vars) != "null" { // a nil map or pointer is no variables
			payload["variables"] = json.RawMessage(vars)
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("provider: encode graphql request: %w", err)
	}
	status, header, data, req, err := c.roundTrip(ctx, http.MethodPost, path, nil, "application/json", body)
	if err != nil {
		return err
	}
	var env struct {
		Data   json.RawMessage    `json:"data"`
		Errors []GraphQLErrorItem `json:"errors"`
	}
	jsonErr := json.Unmarshal(data, &env)
	hasData := jsonErr == nil && len(env.Data) > 0 && !bytes.Equal(env.Data, []byte("null"))
	if hasData && out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil && len(env.Errors) == 0 {
			return fmt.Errorf("POST %s: decode graphql data: %w", req.URL.Path, err)
		}
	}
	if len(env.Errors) > 0 {
		return &GraphQLError{Status: status, Errors: env.Errors}
	}
	if status < 200 || status > 299 || !hasData {
		return c.httpError(req, &http.Response{StatusCode: status, Header: header}, data)
	}
	return nil
}
