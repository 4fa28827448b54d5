package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

var (
	_ api.Executor    = (*Engine)(nil)
	_ api.ActionIndex = (*Engine)(nil)
)

// RunnableActions lists the actions that run for id on the integrations
// route, with their input schemas (registry.Offer).
func (e *Engine) RunnableActions(id string) []api.RunnableAction {
	offered, _ := e.cfg.Registry.Offer(id, false)
	out := make([]api.RunnableAction, 0, len(offered))
	for _, o := range offered {
		j := actionJSONOf(o.Action, o.Impl.Kind(), false)
		out = append(out, api.RunnableAction{Name: j.Name, DisplayName: j.DisplayName, Description: j.Description,
			Implementation: j.Implementation, InputSchema: o.Input})
	}
	return out
}

// Served returns the ids a native plugin or a piece serves, sorted.
func (e *Engine) Served() []string {
	ids := append(e.cfg.Registry.Natives(), e.cfg.Registry.Pieces()...)
	sort.Strings(ids)
	return slices.Compact(ids)
}

// Routes registers the execution routes on the tenant router (/api).
func (e *Engine) Routes(r *api.Router) {
	r.Get("/v1/integrations/:provider/actions", e.listActions)
	r.Post("/v1/integrations/:provider/actions/:action", e.executeAction)
	r.Get("/v1/executions", e.listExecutions)
	r.Get("/v1/executions/:id", e.getExecution)
	r.Get("/v1/pieces", e.listPieces)
	r.Get("/v1/pieces/search", e.searchPieces)
	r.Post("/v1/pieces/:pieceId/actions/:action", e.executePiece)
	r.Post("/v1/connections/:provider/test", e.testConnection)
}

// HealthAction is the action a provider offers as its connection health
// check (Stripe: read the balance; Slack: auth.test; GitHub: GET /user).
const HealthAction = "test_connection"

// testConnection runs the provider's health-check action with the
// tenant's connection; it is recorded like any execution.
func (e *Engine) testConnection(c *fiber.Ctx) error {
	return e.serve(c, &call{provider: c.Params("provider"), action: HealthAction, input: json.RawMessage(`{}`)})
}

// toAPI converts engine errors to the API's error type.
func toAPI(err error) error {
	var ee *Error
	if errors.As(err, &ee) {
		return api.Fail(ee.Status, ee.Code, ee.Message)
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

func actionJSONOf(a provider.Action, kind string, schemas bool) actionJSON {
	j := actionJSON{Name: a.Name, DisplayName: a.DisplayName, Description: a.Description, Implementation: kind, Idempotent: a.Idempotent}
	if j.DisplayName == "" {
		j.DisplayName = a.Name
	}
	if schemas {
		j.InputSchema, j.OutputSchema = a.Input, a.Output
	}
	return j
}

// offeredJSON lists the actions that run for id (registry.Offer).
func (e *Engine) offeredJSON(id string, preferPiece, schemas bool) ([]actionJSON, bool) {
	offered, ok := e.cfg.Registry.Offer(id, preferPiece)
	out := make([]actionJSON, 0, len(offered))
	for _, o := range offered {
		out = append(out, actionJSONOf(o.Action, o.Impl.Kind(), schemas))
	}
	return out, ok
}

func (e *Engine) listActions(c *fiber.Ctx) error {
	id := c.Params("provider")
	if err := e.waitLoaded(c.UserContext(), id); err != nil {
		return toAPI(err)
	}
	impl, ok := e.cfg.Registry.Resolve(id)
	if !ok {
		return api.Fail(http.StatusNotFound, CodeUnknownProvider, "unknown provider \""+id+"\": it is not in the catalog (or not connectable) and no plugin serves it")
	}
	m := impl.Manifest()
	name := m.Name
	if d, ok := e.cfg.Catalog().Get(id); ok && name == "" {
		name = d.Name
	}
	acts, _ := e.offeredJSON(id, false, true)
	return c.JSON(fiber.Map{"provider": id, "name": name, "implementation": impl.Kind(), "version": m.Version,
		"actions": acts})
}

type executeBody struct {
	Input json.RawMessage `json:"input"`
}

type pieceBody struct {
	Config map[string]string `json:"config"`
	Input  json.RawMessage   `json:"input"`
}

func (e *Engine) executeAction(c *fiber.Ctx) error {
	var body executeBody
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := api.DecodeJSON(c, &body); err != nil {
			return err
		}
	}
	return e.serve(c, &call{provider: c.Params("provider"), action: c.Params("action"), input: body.Input})
}

func (e *Engine) executePiece(c *fiber.Ctx) error {
	var body pieceBody
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := api.DecodeJSON(c, &body); err != nil {
			return err
		}
	}
	return e.serve(c, &call{provider: c.Params("pieceId"), action: c.Params("action"), input: body.Input, config: body.Config, pieces: true})
}

func (e *Engine) serve(c *fiber.Ctx, cl *call) error {
	p := api.PrincipalOf(c)
	cl.tenant, cl.user = p.TenantID, p.UserID
	cl.idempotencyKey = strings.TrimSpace(c.Get("Idempotency-Key"))
	if err := api.CheckIdempotencyKey(cl.idempotencyKey); err != nil {
		return err
	}
	switch c.Query("async") {
	case "", "false", "0":
	case "true", "1":
		cl.async = true
	default:
		return api.Fail(http.StatusBadRequest, "bad_request", "async must be true or false")
	}
	res, err := e.execute(c.UserContext(), cl)
	if err != nil {
		var ee *Error
		if errors.As(err, &ee) && ee.RetryAfter > 0 {
			c.Set("Retry-After", strconv.Itoa(ee.RetryAfter))
		}
		return toAPI(err)
	}
	return e.respond(c, res)
}

// HeaderRecordStored is "false" on the answer of an execution whose
// record could not be written before the answer was sent.
const HeaderRecordStored = "Atom-Record-Stored"

// streamOutput is the output size from which a success is streamed from
// the output itself rather than copied into one response buffer.
const streamOutput = 64 << 10

// respond writes an execution result.
func (e *Engine) respond(c *fiber.Ctx, res *Result) error {
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
	if res.Code == CodeRateLimited {
		c.Set("Retry-After", "1")
	}
	rid, _ := c.Locals("requestid").(string)
	body := fiber.Map{
		"error":        fiber.Map{"code": res.Code, "message": res.Message, "request_id": rid},
		"execution_id": res.ExecutionID,
	}
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
}

func toJSON(x *store.Execution, full bool) executionJSON {
	j := executionJSON{ID: x.ID, Provider: x.Provider, Action: x.Action, Implementation: x.Implementation, Status: x.Status,
		UserID: x.UserID, IdempotencyKey: x.IdempotencyKey, DurationMS: x.DurationMS, CreatedAt: x.CreatedAt, StartedAt: x.StartedAt, FinishedAt: x.FinishedAt}
	if x.ErrorCode != "" {
		j.Error = &errorJSON{Code: x.ErrorCode, Message: x.Error}
	}
	if x.ErrorCode == CodeOutcomeUnknown || x.ErrorCode == CodeNotRun {
		// Why the reconciler settled it, and whether the provider may
		// have received the call.
		j.Reason = x.Error
	}
	if full && len(x.Output) > 0 {
		var env envelope
		if json.Unmarshal(x.Output, &env) == nil {
			j.Output, j.Diagnostics, j.Truncated = env.Output, env.Diagnostics, env.Truncated
		}
	}
	return j
}

func (e *Engine) listExecutions(c *fiber.Ctx) error {
	p := api.PrincipalOf(c)
	ctx := c.UserContext()
	f := store.ExecutionFilter{Provider: c.Query("provider"), Status: c.Query("status")}
	switch f.Status {
	case "", store.ExecPending, store.ExecRunning, store.ExecSucceeded, store.ExecFailed, store.ExecUnknown:
	default:
		return api.Fail(http.StatusBadRequest, "bad_request", "status must be one of pending, running, succeeded, failed, unknown")
	}
	f.Limit = 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return api.Fail(http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	before := c.Query("before")
	var list []store.Execution
	err := e.cfg.Store.InTenant(ctx, p.TenantID, func(tx store.Tx) error {
		if before != "" {
			if t, err := time.Parse(time.RFC3339Nano, before); err == nil {
				f.Before = t
			} else {
				x, err := tx.GetExecution(ctx, before)
				if errors.Is(err, store.ErrNotFound) {
					return api.Fail(http.StatusBadRequest, "bad_request", "before must be an RFC 3339 time or an execution id of this tenant")
				}
				if err != nil {
					return err
				}
				f.Before = x.CreatedAt
			}
		}
		var err error
		if hl, ok := tx.(store.HeadLister); ok {
			list, err = hl.ListExecutionHeads(ctx, f) // the listing shows no inputs or outputs
		} else {
			list, err = tx.ListExecutions(ctx, f)
		}
		return err
	})
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

func (e *Engine) getExecution(c *fiber.Ctx) error {
	p := api.PrincipalOf(c)
	id := c.Params("id")
	var x *store.Execution
	err := e.cfg.Store.InTenant(c.UserContext(), p.TenantID, func(tx store.Tx) error {
		var err error
		x, err = tx.GetExecution(c.UserContext(), id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.Fail(http.StatusNotFound, "not_found", "no execution "+id)
	}
	if err != nil {
		return err
	}
	// The stored output (up to MaxStoredOutput) is not HTML-escaped again.
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
}

// pieceOf describes a catalog entry with the actions that run for it on
// the pieces route (registry.Offer: the piece's, the native plugin's,
// custom_api_call when it is connectable) and, apart, the upstream action
// names kept for reference.
func (e *Engine) pieceOf(d *catalog.Descriptor) pieceJSON {
	j := pieceJSON{ID: d.ID, Name: d.Name, Categories: d.Categories, AuthKind: d.Auth.Kind, Connectable: d.Connectable}
	for _, kind := range []string{runtimes.KindPiece, runtimes.KindNative, runtimes.KindGeneric} {
		if impl, ok := e.cfg.Registry.Get(d.ID, kind); ok {
			j.Implementation, j.Version = kind, impl.Manifest().Version
			break
		}
	}
	j.Actions, _ = e.offeredJSON(d.ID, true, true)
	j.ReferenceActions = referenceActions(d, j.Actions)
	return j
}

// referenceActions returns d's upstream action names that are not among
// runnable.
func referenceActions(d *catalog.Descriptor, runnable []actionJSON) []string {
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

func (e *Engine) pieceQuery(c *fiber.Ctx, q catalog.Query) error {
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > catalog.MaxLimit {
			return api.Fail(http.StatusBadRequest, "bad_request", "limit must be a number from 1 to "+strconv.Itoa(catalog.MaxLimit))
		}
		q.Limit = n
	}
	q.Cursor = c.Query("cursor")
	page, err := e.cfg.Catalog().Find(q)
	if errors.Is(err, catalog.ErrBadCursor) {
		return api.Fail(http.StatusBadRequest, "bad_request", "cursor is not one this API returned")
	}
	if err != nil {
		return err
	}
	out := make([]pieceJSON, 0, len(page.Items))
	for _, d := range page.Items {
		out = append(out, e.pieceOf(d))
	}
	body := fiber.Map{"pieces": out, "total": page.Total}
	if page.NextCursor != "" {
		body["next_cursor"] = page.NextCursor
	}
	return c.JSON(body)
}

func (e *Engine) listPieces(c *fiber.Ctx) error {
	cat := c.Query("category")
	if cat != "" {
		if _, ok := catalog.LookupCategory(cat); !ok {
			names := []string{}
			for _, k := range catalog.AllCategories() {
				names = append(names, k.ID)
			}
			return api.Fail(http.StatusBadRequest, "unknown_category", "unknown category \""+cat+"\"; categories: "+strings.Join(names, ", "))
		}
	}
	return e.pieceQuery(c, catalog.Query{Category: cat})
}

func (e *Engine) searchPieces(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		return api.Fail(http.StatusBadRequest, "bad_request", "q is required: the text to search for")
	}
	return e.pieceQuery(c, catalog.Query{Q: q, Category: c.Query("category")})
}
