package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// executionRoutes registers the execution routes on the tenant router
// (/api): the handlers decode the request into an engine.Call, run it
// and encode the engine.Result.
func (s *Server) executionRoutes(r *Router) {
	r.Get("/v1/integrations/:provider/actions", s.listActions)
	r.Post("/v1/integrations/:provider/actions/:action", s.executeAction)
	r.Get("/v1/executions", s.listExecutions)
	r.Get("/v1/executions/:id", s.getExecution)
	r.Get("/v1/pieces", s.listPieces)
	r.Get("/v1/pieces/search", s.searchPieces)
	r.Post("/v1/pieces/:pieceId/actions/:action", s.executePiece)
	r.Post("/v1/connections/:provider/test", s.testConnection)
}

// testConnection runs the provider's health-check action with the
// tenant's connection; it is recorded like any execution.
func (s *Server) testConnection(c *fiber.Ctx) error {
	return s.serveCall(c, engine.Call{Provider: c.Params("provider"), Action: engine.HealthAction, Input: json.RawMessage(`{}`)})
}

// toAPI converts an engine refusal to the API's error, keeping the input
// field at fault; other errors go to handleError as they are.
func toAPI(err error) error {
	var ee *engine.Error
	if errors.As(err, &ee) {
		return &Error{Status: ee.Status, Code: ee.Code, Message: ee.Message, Field: ee.Field}
	}
	return err
}

type actionJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	// Implementation is the kind of runtime that runs the action.
	Implementation string          `json:"implementation,omitempty"`
	InputSchema    json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema   json.RawMessage `json:"output_schema,omitempty"`
	Idempotent     bool            `json:"idempotent,omitempty"`
}

func actionJSONOf(o engine.Offered, schemas bool) actionJSON {
	a := o.Action
	j := actionJSON{Name: a.Name, DisplayName: a.DisplayName, Description: a.Description, Implementation: o.Implementation, Idempotent: a.Idempotent}
	if j.DisplayName == "" {
		j.DisplayName = a.Name
	}
	if schemas {
		j.InputSchema, j.OutputSchema = a.Input, a.Output
	}
	return j
}

func actionsJSON(offered []engine.Offered, schemas bool) []actionJSON {
	out := make([]actionJSON, 0, len(offered))
	for _, o := range offered {
		out = append(out, actionJSONOf(o, schemas))
	}
	return out
}

func (s *Server) listActions(c *fiber.Ctx) error {
	info, err := s.deps.Exec.Provider(c.UserContext(), c.Params("provider"))
	if err != nil {
		return toAPI(err)
	}
	return c.JSON(fiber.Map{"provider": info.ID, "name": info.Name, "implementation": info.Implementation, "version": info.Version,
		"actions": actionsJSON(info.Actions, true)})
}

type executeBody struct {
	Input json.RawMessage `json:"input"`
}

type pieceBody struct {
	Config map[string]string `json:"config"`
	Input  json.RawMessage   `json:"input"`
}

func (s *Server) executeAction(c *fiber.Ctx) error {
	var body executeBody
	if len(bytes.TrimSpace(requestBody(c))) > 0 {
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
	}
	return s.serveCall(c, engine.Call{Provider: c.Params("provider"), Action: c.Params("action"), Input: body.Input})
}

func (s *Server) executePiece(c *fiber.Ctx) error {
	var body pieceBody
	if len(bytes.TrimSpace(requestBody(c))) > 0 {
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
	}
	return s.serveCall(c, engine.Call{Provider: c.Params("pieceId"), Action: c.Params("action"), Input: body.Input, Config: body.Config, Pieces: true})
}

// serveCall completes cl with the caller, the Idempotency-Key and
// ?async, runs it and writes the result.
func (s *Server) serveCall(c *fiber.Ctx, cl engine.Call) error {
	p := principalOf(c)
	cl.TenantID, cl.UserID = p.TenantID, p.UserID
	cl.IdempotencyKey = strings.TrimSpace(c.Get("Idempotency-Key"))
	if err := CheckIdempotencyKey(cl.IdempotencyKey); err != nil {
		return err
	}
	switch c.Query("async") {
	case "", "false", "0":
	case "true", "1":
		cl.Async = true
	default:
		return apiErr(http.StatusBadRequest, "bad_request", "async must be true or false")
	}
	res, err := s.deps.Exec.Execute(c.UserContext(), cl)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) && ee.RetryAfter > 0 {
			c.Set("Retry-After", strconv.Itoa(ee.RetryAfter))
		}
		return toAPI(err)
	}
	return respondExecution(c, &res)
}

// HeaderRecordStored is "false" on the answer of an execution whose
// record could not be written before the answer was sent.
const HeaderRecordStored = "Atom-Record-Stored"

// streamOutput is the output size from which a success is streamed from
// the output itself rather than copied into one response buffer.
const streamOutput = 64 << 10

// respondExecution writes an execution result.
func respondExecution(c *fiber.Ctx, res *engine.Result) error {
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	stored := ""
	if res.NotStored {
		// The action ran and this is its outcome, but its record was not
		// written when the answer left: GET /executions/:id may not know
		// it (the host keeps retrying for ATOM_EXECUTION_RECORD_RETRY).
		c.Set(HeaderRecordStored, "false")
		stored = `,"record_stored":false`
	}
	switch {
	case res.Status == http.StatusAccepted:
		return c.Status(http.StatusAccepted).JSON(fiber.Map{"execution_id": res.ExecutionID, "status": store.ExecPending})
	case res.Code == "":
		// The output is valid JSON (checked by the runtime or the
		// engine): it is written as is, not re-encoded, so a large
		// output is neither copied again nor HTML-escaped.
		out := res.Output
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		id, _ := json.Marshal(res.ExecutionID)
		head, tail := `{"output":`, `,"execution_id":`+string(id)+stored+`}`
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		if len(out) < streamOutput {
			b := make([]byte, 0, len(head)+len(out)+len(tail))
			return c.Send(append(append(append(b, head...), out...), tail...))
		}
		c.Context().SetBodyStream(io.MultiReader(strings.NewReader(head), bytes.NewReader(out), strings.NewReader(tail)),
			len(head)+len(out)+len(tail))
		return nil
	}
	if res.RetryAfter > 0 {
		c.Set("Retry-After", strconv.Itoa(res.RetryAfter))
	} else if res.Code == engine.CodeRateLimited {
		c.Set("Retry-After", "1")
	}
	rid, _ := c.Locals("requestid").(string)
	errBody := fiber.Map{"code": res.Code, "message": res.Message, "request_id": rid}
	if res.Field != "" {
		errBody["field"] = res.Field
	}
	body := fiber.Map{"error": errBody, "execution_id": res.ExecutionID}
	if len(res.Diagnostics) > 0 {
		body["diagnostics"] = res.Diagnostics
	}
	if len(res.Output) > 0 && string(res.Output) != "null" {
		body["output"] = res.Output
	}
	if res.NotStored {
		body["record_stored"] = false
	}
	b, err := marshalNoEscape(body)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(res.Status).Send(b)
}

type executionJSON struct {
	ID             string                `json:"id"`
	Provider       string                `json:"provider"`
	Action         string                `json:"action"`
	Implementation string                `json:"implementation"`
	Status         string                `json:"status"`
	Reason         string                `json:"reason,omitempty"`
	UserID         string                `json:"user_id,omitempty"`
	IdempotencyKey string                `json:"idempotency_key,omitempty"`
	Error          *errorJSON            `json:"error,omitempty"`
	DurationMS     int64                 `json:"duration_ms"`
	CreatedAt      time.Time             `json:"created_at"`
	StartedAt      *time.Time            `json:"started_at,omitempty"`
	FinishedAt     *time.Time            `json:"finished_at,omitempty"`
	Output         json.RawMessage       `json:"output,omitempty"`
	Diagnostics    []provider.Diagnostic `json:"diagnostics,omitempty"`
	Truncated      bool                  `json:"output_truncated,omitempty"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field is the input field or provider parameter the failure names.
	Field string `json:"field,omitempty"`
}

func toJSON(x *store.Execution, full bool) executionJSON {
	j := executionJSON{ID: x.ID, Provider: x.Provider, Action: x.Action, Implementation: x.Implementation, Status: x.Status,
		UserID: x.UserID, IdempotencyKey: x.IdempotencyKey, DurationMS: x.DurationMS, CreatedAt: x.CreatedAt, StartedAt: x.StartedAt, FinishedAt: x.FinishedAt}
	if x.ErrorCode != "" {
		j.Error = &errorJSON{Code: x.ErrorCode, Message: x.Error}
	}
	if x.ErrorCode == engine.CodeOutcomeUnknown || x.ErrorCode == engine.CodeNotRun {
		// Why the reconciler settled it, and whether the provider may
		// have received the call.
		j.Reason = x.Error
	}
	if full {
		st := engine.StoredOutput(x)
		j.Output, j.Diagnostics, j.Truncated = st.Output, st.Diagnostics, st.Truncated
		if j.Error != nil {
			j.Error.Field = st.Field
		}
	}
	return j
}

func (s *Server) listExecutions(c *fiber.Ctx) error {
	p := principalOf(c)
	f := store.ExecutionFilter{Provider: c.Query("provider"), Status: c.Query("status")}
	switch f.Status {
	case "", store.ExecPending, store.ExecRunning, store.ExecSucceeded, store.ExecFailed, store.ExecUnknown:
	default:
		return apiErr(http.StatusBadRequest, "bad_request", "status must be one of pending, running, succeeded, failed, unknown")
	}
	f.Limit = 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return apiErr(http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	list, err := s.deps.Exec.ListExecutions(c.UserContext(), p.TenantID, f, c.Query("before"))
	if errors.Is(err, engine.ErrBadBefore) {
		return apiErr(http.StatusBadRequest, "bad_request", err.Error())
	}
	if err != nil {
		return err
	}
	out := make([]executionJSON, 0, len(list))
	for i := range list {
		out = append(out, toJSON(&list[i], false))
	}
	body := fiber.Map{"executions": out}
	if len(list) == f.Limit {
		body["next_before"] = list[len(list)-1].ID
	}
	return c.JSON(body)
}

func (s *Server) getExecution(c *fiber.Ctx) error {
	p := principalOf(c)
	id := c.Params("id")
	x, err := s.deps.Exec.GetExecution(c.UserContext(), p.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusNotFound, "not_found", "no execution "+id)
	}
	if err != nil {
		return err
	}
	// The stored output (up to engine.MaxStoredOutput) is not HTML-escaped again.
	b, err := marshalNoEscape(toJSON(x, true))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}

type pieceJSON struct {
	ID             string       `json:"id"`
	Name           string       `json:"name"`
	Categories     []string     `json:"categories"`
	AuthKind       string       `json:"auth_kind"`
	Connectable    bool         `json:"connectable"`
	Implementation string       `json:"implementation,omitempty"`
	Version        string       `json:"version,omitempty"`
	Actions        []actionJSON `json:"actions"`
	// ReferenceActions are upstream action names the catalog records for
	// the entry that do not run here.
	ReferenceActions []string `json:"reference_actions,omitempty"`
	// Triggers run for the entry; ReferenceTriggers are the upstream
	// trigger names that do not.
	Triggers          []RunnableTrigger `json:"triggers"`
	ReferenceTriggers []string          `json:"reference_triggers,omitempty"`
}

// pieceOf describes a catalog entry with the actions that run for it on
// the pieces route (registry.Offer: the piece's, the native plugin's,
// custom_api_call when it is connectable) and, apart, the upstream action
// names kept for reference.
func (s *Server) pieceOf(d *catalog.Descriptor) pieceJSON {
	j := pieceJSON{ID: d.ID, Name: d.Name, Categories: d.Categories, AuthKind: d.Auth.Kind, Connectable: d.Connectable}
	j.Implementation, j.Version, _ = s.deps.Exec.PieceImplementation(d.ID)
	offered, _ := s.deps.Exec.Offer(d.ID, true)
	j.Actions = actionsJSON(offered, true)
	j.ReferenceActions = pieceReferenceActions(d, j.Actions)
	j.Triggers = s.runnableTriggersOn(d.ID, true)
	j.ReferenceTriggers = referenceTriggers(d.Triggers, j.Triggers)
	return j
}

// pieceReferenceActions returns d's upstream action names that are not
// among runnable.
func pieceReferenceActions(d *catalog.Descriptor, runnable []actionJSON) []string {
	have := make(map[string]bool, len(runnable))
	for _, a := range runnable {
		have[a.Name] = true
	}
	var out []string
	for _, n := range d.Actions {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) pieceQuery(c *fiber.Ctx, q catalog.Query) error {
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > catalog.MaxLimit {
			return apiErr(http.StatusBadRequest, "bad_request", "limit must be a number from 1 to "+strconv.Itoa(catalog.MaxLimit))
		}
		q.Limit = n
	}
	q.Cursor = c.Query("cursor")
	page, err := s.deps.Catalog().Find(q)
	if errors.Is(err, catalog.ErrBadCursor) {
		return apiErr(http.StatusBadRequest, "bad_request", "cursor is not one this API returned")
	}
	if err != nil {
		return err
	}
	out := make([]pieceJSON, 0, len(page.Items))
	for _, d := range page.Items {
		out = append(out, s.pieceOf(d))
	}
	body := fiber.Map{"pieces": out, "total": page.Total}
	if page.NextCursor != "" {
		body["next_cursor"] = page.NextCursor
	}
	return c.JSON(body)
}

func (s *Server) listPieces(c *fiber.Ctx) error {
	cat := c.Query("category")
	if cat != "" {
		if _, ok := catalog.LookupCategory(cat); !ok {
			names := []string{}
			for _, k := range catalog.AllCategories() {
				names = append(names, k.ID)
			}
			return apiErr(http.StatusBadRequest, "unknown_category", "unknown category \""+cat+"\"; categories: "+strings.Join(names, ", "))
		}
	}
	return s.pieceQuery(c, catalog.Query{Category: cat})
}

func (s *Server) searchPieces(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		return apiErr(http.StatusBadRequest, "bad_request", "q is required: the text to search for")
	}
	return s.pieceQuery(c, catalog.Query{Q: q, Category: c.Query("category")})
}

// marshalNoEscape encodes v without HTML-escaping, so stored outputs are
// written as they are.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
