package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/provider"
)

// Trigger instances (tenant API) and the provider webhook receivers.
func (s *Server) triggerRoutes(r *Router) {
	r.Post("/v1/triggers", s.createTrigger)
	r.Get("/v1/triggers", s.listTriggers)
	r.Get("/v1/triggers/:id", s.getTrigger)
	r.Delete("/v1/triggers/:id", s.deleteTrigger)
}

// hookRoutes are reached by providers, with no credential: the
// unguessable hook id (or, for app webhooks, the signature the trigger
// verifies with the operator's signing secret) is what binds a request
// to its trigger instances.
func (s *Server) hookRoutes(r *Router) {
	r.Post("/v1/hooks/app/:provider", s.appHook)
	r.Post("/v1/hooks/:hookId", s.hook)
}

type triggerDelivery struct {
	Webhook *bool `json:"webhook,omitempty"`
}

type createTriggerRequest struct {
	ConnectionID    string           `json:"connection_id"`
	Provider        string           `json:"provider"`
	Trigger         string           `json:"trigger"`
	Input           json.RawMessage  `json:"input"`
	Delivery        *triggerDelivery `json:"delivery"`
	IntervalSeconds int              `json:"interval_seconds"`
}

type triggerDeliveryBody struct {
	Webhook bool `json:"webhook"`
}

type triggerBody struct {
	ID              string              `json:"id"`
	ConnectionID    string              `json:"connection_id,omitempty"`
	Provider        string              `json:"provider"`
	Trigger         string              `json:"trigger"`
	Kind            string              `json:"kind"`
	Input           json.RawMessage     `json:"input"`
	Status          string              `json:"status"`
	LastError       string              `json:"last_error,omitempty"`
	IntervalSeconds int                 `json:"interval_seconds,omitempty"`
	NextPollAt      *time.Time          `json:"next_poll_at,omitempty"`
	LastPolledAt    *time.Time          `json:"last_polled_at,omitempty"`
	LastEventAt     *time.Time          `json:"last_event_at,omitempty"`
	Delivery        triggerDeliveryBody `json:"delivery"`
	HookURL         string              `json:"hook_url,omitempty"`
	CreatedAt       time.Time           `json:"created_at"`
	UpdatedAt       time.Time           `json:"updated_at"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toTriggerBody(ti *store.TriggerInstance) triggerBody {
	input := json.RawMessage(ti.Input)
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	b := triggerBody{ID: ti.ID, ConnectionID: ti.ConnectionID, Provider: ti.Provider, Trigger: ti.Trigger, Kind: ti.Kind, Input: input,
		Status: ti.Status, LastError: ti.LastError, IntervalSeconds: ti.IntervalSeconds, LastPolledAt: utcPtr(ti.LastPolledAt),
		LastEventAt: utcPtr(ti.LastEventAt), Delivery: triggerDeliveryBody{Webhook: ti.Deliver}, CreatedAt: ti.CreatedAt.UTC(), UpdatedAt: ti.UpdatedAt.UTC()}
	if ti.Kind == provider.TriggerPolling && (ti.Status == store.TriggerActive || ti.Status == store.TriggerNeedsReauth) {
		b.NextPollAt = utcPtr(ti.NextPollAt)
	}
	return b
}

func (s *Server) triggerEngine() (*triggers.Engine, error) {
	if s.deps.Triggers == nil {
		return nil, apiErr(http.StatusServiceUnavailable, "triggers_disabled", "triggers are not enabled on this host")
	}
	return s.deps.Triggers, nil
}

// triggerErr maps the engine's refusals.
func triggerErr(err error) error {
	var te *triggers.Error
	if errors.As(err, &te) {
		return &Error{Status: te.Status, Code: te.Code, Message: te.Message, Field: te.Field}
	}
	return err
}

func (s *Server) createTrigger(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	var req createTriggerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Trigger == "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "trigger", Message: "trigger is required: the name of one of the provider's triggers (GET /api/v1/catalog/{provider})"}
	}
	if req.ConnectionID == "" && req.Provider == "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "connection_id", Message: "name the connection (connection_id) or the provider whose connection to use (provider)"}
	}
	for _, f := range []struct{ name, v string }{{"connection_id", req.ConnectionID}, {"provider", req.Provider}, {"trigger", req.Trigger}} {
		if err := CheckText(f.name, f.v, store.MaxTriggerName); err != nil {
			return err
		}
	}
	p := principalOf(c)
	cr := triggers.CreateRequest{TenantID: p.TenantID, UserID: p.UserID, ConnectionID: req.ConnectionID, Provider: req.Provider,
		Trigger: req.Trigger, Input: req.Input, IntervalSeconds: req.IntervalSeconds}
	if req.Delivery != nil {
		if req.Delivery.Webhook == nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "delivery.webhook", Message: "delivery.webhook is required with delivery: true or false"}
		}
		cr.Deliver = req.Delivery.Webhook
	}
	out, err := eng.Create(c.UserContext(), cr)
	if err != nil {
		return triggerErr(err)
	}
	b := toTriggerBody(out.Instance)
	b.HookURL = out.HookURL
	return c.Status(http.StatusCreated).JSON(b)
}

func (s *Server) listTriggers(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	conn := c.Query("connection_id")
	if err := CheckText("connection_id", conn, store.MaxID); err != nil {
		return err
	}
	limit, err := limitParam(c, 100, triggers.MaxInstancesPerTenant)
	if err != nil {
		return err
	}
	list, err := eng.List(c.UserContext(), principalOf(c).TenantID, conn, limit)
	if err != nil {
		return err
	}
	out := make([]triggerBody, 0, len(list))
	for i := range list {
		out = append(out, toTriggerBody(&list[i]))
	}
	return c.JSON(fiber.Map{"triggers": out})
}

func triggerNotFound(id string) error {
	return apiErr(http.StatusNotFound, "trigger_not_found", "no trigger "+strconv.Quote(id)+"; list yours with GET /api/v1/triggers")
}

func (s *Server) getTrigger(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	ti, err := eng.Get(c.UserContext(), principalOf(c).TenantID, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return triggerNotFound(c.Params("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(toTriggerBody(ti))
}

func (s *Server) deleteTrigger(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	unregistered, err := eng.Delete(c.UserContext(), principalOf(c).TenantID, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return triggerNotFound(c.Params("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": true, "unregistered": unregistered})
}

// providerRequest is the request as the provider sent it: its headers
// and raw body (signatures are over these bytes).
func providerRequest(c *fiber.Ctx) provider.WebhookRequest {
	h := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
	return provider.WebhookRequest{Method: c.Method(), Headers: h, Body: append([]byte(nil), c.Body()...)}
}

// hookErr maps a webhook's failure: unknown hook 404, refused signature
// 401; a plugin or provider failure 502 so that the provider retries.
func hookErr(err error) error {
	switch {
	case errors.Is(err, triggers.ErrUnknownHook):
		return apiErr(http.StatusNotFound, "hook_not_found", "no trigger has this hook URL")
	case errors.Is(err, triggers.ErrBadSignature):
		return apiErr(http.StatusUnauthorized, "invalid_signature", "the webhook signature is missing, forged or stale")
	case store.Unavailable(err), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var te *triggers.Error
	if errors.As(err, &te) {
		return triggerErr(err)
	}
	return apiErr(http.StatusBadGateway, "trigger_failed", "the webhook could not be handled; retry later")
}

// writeHookResult sends a trigger's own reply (a challenge echo) or the
// default answer. A reply is plain text or JSON, never a page: its
// content type is one of those two and the browser may not sniff it,
// since a reply on the API's origin could otherwise carry script.
func writeHookResult(c *fiber.Ctx, res triggers.HookResult) error {
	if r := res.Reply; r != nil {
		st := r.Status
		if st == 0 {
			st = http.StatusOK
		}
		ct := "text/plain; charset=utf-8"
		if v := strings.ToLower(http.Header(r.Headers).Get("Content-Type")); strings.HasPrefix(v, "application/json") {
			ct = "application/json"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		return c.Status(st).Send(r.Body)
	}
	return c.JSON(fiber.Map{"received": true, "events": res.Events})
}

func (s *Server) hook(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	res, err := eng.HandleHook(c.UserContext(), c.Params("hookId"), providerRequest(c))
	if err != nil {
		return hookErr(err)
	}
	return writeHookResult(c, res)
}

func (s *Server) appHook(c *fiber.Ctx) error {
	eng, err := s.triggerEngine()
	if err != nil {
		return err
	}
	res, err := eng.HandleAppHook(c.UserContext(), c.Params("provider"), providerRequest(c))
	if err != nil {
		return hookErr(err)
	}
	return writeHookResult(c, res)
}

// triggerSource returns the event source ?trigger= names (the instance
// id), checked to be the tenant's, or "" when the query has none.
func (s *Server) triggerSource(c *fiber.Ctx) (string, error) {
	id := c.Query("trigger")
	if id == "" {
		return "", nil
	}
	eng, err := s.triggerEngine()
	if err != nil {
		return "", err
	}
	if _, err := eng.Get(c.UserContext(), principalOf(c).TenantID, id); errors.Is(err, store.ErrNotFound) {
		return "", triggerNotFound(id)
	} else if err != nil {
		return "", err
	}
	return id, nil
}

// listEventsOf lists the tenant's events after a position: all of them,
// or one source's.
func listEventsOf(ctx context.Context, tx store.Tx, source string, after int64, limit int) ([]store.Event, error) {
	if source == "" {
		return tx.ListEvents(ctx, after, limit)
	}
	tt, ok := tx.(store.TriggerTx)
	if !ok {
		return nil, errors.New("api: the store lists no events by source")
	}
	return tt.ListSourceEvents(ctx, source, after, limit)
}

// listLatestEventsOf lists the tenant's newest events after a position,
// newest first: all of them, or one source's.
func listLatestEventsOf(ctx context.Context, tx store.Tx, source string, after int64, limit int) ([]store.Event, error) {
	tt, ok := tx.(store.TriggerTx)
	if !ok {
		return nil, errors.New("api: the store lists no latest events")
	}
	return tt.ListLatestEvents(ctx, source, after, limit)
}
