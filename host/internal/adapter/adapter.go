// Package adapter is the Go client of Atom's pieces adapter API, the
// counterpart of the spec's createActivepiecesAdapter(tenantId, userId):
//
//	a := adapter.New("https://atom.example.com", tenantAPIKey, userID)
//	res, err := a.ExecutePiece(ctx, adapter.ExecuteRequest{
//		PieceID: "discord", Action: "send_message",
//		Config:  map[string]string{"webhook_url": "https://discord.com/api/webhooks/…"},
//		Input:   map[string]any{"content": "Hello from ATOM!"},
//	})
//	pieces, err := a.ListPieces(ctx, "communication")
//	found, err := a.SearchPieces(ctx, "crm")
//
// It needs only net/http. A Client is safe for concurrent use.
package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one Atom host as one tenant (and optionally one user).
type Client struct {
	base, key, user string
	// HTTP sends the requests; a client with a 2-minute timeout by default.
	HTTP *http.Client
}

// New returns a Client for the host at baseURL, authenticating with the
// tenant API key; userID, when not empty, is sent as X-Atom-User-Id.
func New(baseURL, apiKey, userID string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, user: userID, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// ExecuteRequest runs one action of a piece.
type ExecuteRequest struct {
	PieceID string
	Action  string
	// Config is the per-call connection configuration (e.g. Discord's
	// webhook_url); it is merged over the tenant's stored connection.
	Config map[string]string
	// Input is the action's input object.
	Input any
	// IdempotencyKey, when set, makes a retry return the first result.
	IdempotencyKey string
}

// Diagnostic is an error or warning reported by the action.
type Diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Field    string `json:"field,omitempty"`
	Status   int    `json:"status,omitempty"`
}

// ExecuteResult is a successful execution.
type ExecuteResult struct {
	Output      json.RawMessage `json:"output"`
	ExecutionID string          `json:"execution_id"`
	Replayed    bool            `json:"-"`
}

// Error is an error answer of the host.
type Error struct {
	Status      int
	Code        string       `json:"code"`
	Message     string       `json:"message"`
	RequestID   string       `json:"request_id"`
	ExecutionID string       `json:"-"`
	Diagnostics []Diagnostic `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("atom: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Action is one action that runs for a piece.
type Action struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	// Implementation is what runs the action: "native", "piece" or
	// "generic" (custom_api_call).
	Implementation string `json:"implementation,omitempty"`
	// InputSchema is the JSON Schema the input is validated against.
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// Piece is one catalog entry with the actions it offers.
type Piece struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Categories     []string `json:"categories"`
	AuthKind       string   `json:"auth_kind"`
	Connectable    bool     `json:"connectable"`
	Implementation string   `json:"implementation,omitempty"`
	Version        string   `json:"version,omitempty"`
	// Actions are the actions that run here, custom_api_call included
	// when the entry is connectable.
	Actions []Action `json:"actions"`
	// ReferenceActions are upstream action names recorded for the entry
	// that do not run here (executing one answers 404).
	ReferenceActions []string `json:"reference_actions,omitempty"`
}

// PieceList is one page of pieces.
type PieceList struct {
	Pieces     []Piece `json:"pieces"`
	Total      int     `json:"total"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ExecutePiece runs an action of a piece (or, for a catalog entry with no
// piece, the generic custom_api_call).
func (c *Client) ExecutePiece(ctx context.Context, r ExecuteRequest) (*ExecuteResult, error) {
	input := r.Input
	if input == nil {
		input = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"config": r.Config, "input": input})
	if err != nil {
		return nil, fmt.Errorf("atom: encode input: %w", err)
	}
	path := "/api/v1/pieces/" + url.PathEscape(r.PieceID) + "/actions/" + url.PathEscape(r.Action)
	hdr := http.Header{}
	if r.IdempotencyKey != "" {
		hdr.Set("Idempotency-Key", r.IdempotencyKey)
	}
	var res ExecuteResult
	resp, err := c.do(ctx, http.MethodPost, path, body, hdr, &res)
	if err != nil {
		return nil, err
	}
	res.Replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	return &res, nil
}

// ListPieces lists the pieces of a category ("" for all), first page.
func (c *Client) ListPieces(ctx context.Context, category string) (*PieceList, error) {
	q := url.Values{}
	if category != "" {
		q.Set("category", category)
	}
	var out PieceList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pieces?"+q.Encode(), nil, nil, &out)
	return &out, err
}

// SearchPieces searches pieces by text, first page.
func (c *Client) SearchPieces(ctx context.Context, q string) (*PieceList, error) {
	var out PieceList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pieces/search?q="+url.QueryEscape(q), nil, nil, &out)
	return &out, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, hdr http.Header, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" {
		req.Header.Set("X-Atom-User-Id", c.user)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error       Error        `json:"error"`
			ExecutionID string       `json:"execution_id"`
			Diagnostics []Diagnostic `json:"diagnostics"`
		}
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return resp, &Error{Status: resp.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(data))}
		}
		e := eb.Error
		e.Status, e.ExecutionID, e.Diagnostics = resp.StatusCode, eb.ExecutionID, eb.Diagnostics
		return resp, &e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp, fmt.Errorf("atom: decode %s %s: %w", method, path, err)
	}
	return resp, nil
}
