package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/ratelimit"
	"github.com/atomhq/atom/host/internal/store"
)

// Events: cursor pull, a server-sent event stream, deliveries and replay,
// and rotation of the webhook signing secret.
func (s *Server) eventRoutes(r *Router) {
	r.Get("/v1/events", s.listEvents)
	r.Get("/v1/events/stream", s.streamEvents)
	r.Get("/v1/events/:id", s.getEvent)
	r.Post("/v1/events/:id/replay", s.replayEvent)
	r.Get("/v1/deliveries", s.listDeliveries)
	r.Post("/v1/webhook/rotate", s.rotateWebhook)
}

// MaxEventStreams is how many event streams one tenant may hold open on
// one replica.
const MaxEventStreams = 5

// EventStreamRecheck is how often an open event stream checks that the
// API key or browser session it was opened with is still good: a revoked
// key or a signed-out session ends the stream within this time (plus the
// API key cache's sqlcore.APIKeyTTL on another replica).
var EventStreamRecheck = 5 * time.Second

// eventStreamPoll is how often a stream looks for new events.
const eventStreamPoll = 250 * time.Millisecond

type eventBody struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Source    string          `json:"source"`
	Seq       int64           `json:"seq"`
	Cursor    string          `json:"cursor"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	Delivery  *deliveryBody   `json:"delivery,omitempty"`
}

func toEventBody(e *store.Event) eventBody {
	data := e.Payload
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return eventBody{ID: e.ID, Type: e.Type, Source: e.Source, Seq: e.Seq, Cursor: strconv.FormatInt(e.Pos, 10), CreatedAt: e.CreatedAt.UTC(), Data: data}
}

type deliveryBody struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func toDeliveryBody(d *store.Delivery) *deliveryBody {
	b := &deliveryBody{ID: d.ID, EventID: d.EventID, State: d.State, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if d.State == store.DeliveryPending {
		at := d.NextAttemptAt.UTC()
		b.NextAttemptAt = &at
	}
	return b
}

// cursorParam reads ?after= (an event's cursor; 0 or absent: from the
// first event).
func cursorParam(c *fiber.Ctx, name string) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, apiErr(http.StatusBadRequest, "invalid_cursor", name+" must be the cursor of an event (a whole number from a previous answer's next_cursor or an event's cursor)")
	}
	return n, nil
}

func limitParam(c *fiber.Ctx, def, max int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, apiErr(http.StatusBadRequest, "invalid_limit", fmt.Sprintf("limit must be a whole number from 1 to %d", max))
	}
	return n, nil
}

func (s *Server) listEvents(c *fiber.Ctx) error {
	after, err := cursorParam(c, "after")
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 100, 1000)
	if err != nil {
		return err
	}
	var newest bool
	switch c.Query("order") {
	case "", "asc":
	case "desc":
		newest = true
	default:
		return apiErr(http.StatusBadRequest, "invalid_order", "order must be asc (oldest first, the default) or desc (the newest events first)")
	}
	source, err := s.triggerSource(c)
	if err != nil {
		return err
	}
	var evs []store.Event
	err = s.deps.Store.InTenant(c.UserContext(), principalOf(c).TenantID, func(tx store.Tx) (err error) {
		if newest {
			evs, err = listLatestEventsOf(c.UserContext(), tx, source, after, limit)
		} else {
			evs, err = listEventsOf(c.UserContext(), tx, source, after, limit)
		}
		return
	})
	if err != nil {
		return err
	}
	out := make([]eventBody, 0, len(evs))
	next := after
	for i := range evs {
		out = append(out, toEventBody(&evs[i]))
		next = max(next, evs[i].Pos)
	}
	return c.JSON(fiber.Map{"events": out, "next_cursor": strconv.FormatInt(next, 10)})
}

func (s *Server) getEvent(c *fiber.Ctx) error {
	var ev *store.Event
	var d *store.Delivery
	err := s.deps.Store.InTenant(c.UserContext(), principalOf(c).TenantID, func(tx store.Tx) (err error) {
		if ev, err = tx.GetEvent(c.UserContext(), c.Params("id")); err != nil {
			return err
		}
		d, err = tx.GetDeliveryByEvent(c.UserContext(), ev.ID)
		if errors.Is(err, store.ErrNotFound) {
			d, err = nil, nil
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusNotFound, "event_not_found", "no event "+c.Params("id"))
	}
	if err != nil {
		return err
	}
	b := toEventBody(ev)
	if d != nil {
		b.Delivery = toDeliveryBody(d)
	}
	return c.JSON(b)
}

func (s *Server) deliverySvc() (*delivery.Service, error) {
	if s.deps.Webhooks == nil {
		return nil, apiErr(http.StatusServiceUnavailable, "webhooks_disabled", "webhooks are not enabled on this host")
	}
	return s.deps.Webhooks.Delivery(), nil
}

func (s *Server) replayEvent(c *fiber.Ctx) error {
	svc, err := s.deliverySvc()
	if err != nil {
		return err
	}
	d, err := svc.Replay(c.UserContext(), principalOf(c).TenantID, c.Params("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apiErr(http.StatusNotFound, "event_not_found", "no event "+c.Params("id"))
	case errors.Is(err, delivery.ErrPending):
		return apiErr(http.StatusConflict, "delivery_pending", "the event's delivery is still pending; replay it once it is delivered or dead")
	case errors.Is(err, delivery.ErrNoEndpoint):
		return apiErr(http.StatusConflict, "no_webhook", "no webhook URL is configured; set one with PUT /api/v1/webhook")
	case err != nil:
		return err
	}
	return c.Status(http.StatusAccepted).JSON(toDeliveryBody(d))
}

func (s *Server) listDeliveries(c *fiber.Ctx) error {
	state := c.Query("state")
	switch state {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
	default:
		return apiErr(http.StatusBadRequest, "invalid_state", "state must be pending, delivered or dead")
	}
	limit, err := limitParam(c, 50, 500)
	if err != nil {
		return err
	}
	after := c.Query("after")
	if err := CheckText("after", after, store.MaxID); err != nil {
		return err
	}
	var ds []store.Delivery
	err = s.deps.Store.InTenant(c.UserContext(), principalOf(c).TenantID, func(tx store.Tx) (err error) {
		ds, err = tx.ListDeliveries(c.UserContext(), store.DeliveryFilter{State: state, After: after, Limit: limit})
		return
	})
	if err != nil {
		return err
	}
	out := make([]*deliveryBody, 0, len(ds))
	for i := range ds {
		out = append(out, toDeliveryBody(&ds[i]))
	}
	body := fiber.Map{"deliveries": out}
	if len(ds) == limit {
		body["next_after"] = ds[len(ds)-1].ID
	}
	return c.JSON(body)
}

type rotateRequest struct {
	OverlapSeconds int64 `json:"overlap_seconds"`
}

func (s *Server) rotateWebhook(c *fiber.Ctx) error {
	svc, err := s.deliverySvc()
	if err != nil {
		return err
	}
	var req rotateRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	maxSec := int64(delivery.MaxOverlap / time.Second)
	if req.OverlapSeconds < 0 || req.OverlapSeconds > maxSec {
		return apiErr(http.StatusBadRequest, "invalid_overlap", fmt.Sprintf("overlap_seconds must be from 0 (the default, %d) to %d", int64(delivery.DefaultOverlap/time.Second), maxSec))
	}
	secret, until, err := svc.RotateSecret(c.UserContext(), principalOf(c).TenantID, time.Duration(req.OverlapSeconds)*time.Second)
	if errors.Is(err, delivery.ErrNoEndpoint) {
		return apiErr(http.StatusConflict, "no_webhook", "no webhook URL is configured; set one with PUT /api/v1/webhook")
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"secret": secret, "previous_secret_expires_at": until})
}

// streams counts open event streams per tenant.
var streams ratelimit.InFlight

// streamEvents serves the tenant's events (to a client accepting
// text/event-stream) as server-sent events from
// ?after= or the Last-Event-ID header (each event's id: is its cursor),
// then new ones as they are recorded, with a comment every 15 s.
func (s *Server) streamEvents(c *fiber.Ctx) error {
	tenant := principalOf(c).TenantID
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		return apiErr(http.StatusNotAcceptable, "not_acceptable", "this route streams server-sent events: send Accept: text/event-stream (or read GET /api/v1/events?after=)")
	}
	after, err := cursorParam(c, "after")
	if err != nil {
		return err
	}
	if h := c.Get("Last-Event-ID"); h != "" && c.Query("after") == "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 {
			return apiErr(http.StatusBadRequest, "invalid_cursor", "Last-Event-ID must be the id of an event of this stream (its cursor)")
		}
		after = n
	}
	source, err := s.triggerSource(c)
	if err != nil {
		return err
	}
	if !streams.Take(tenant, MaxEventStreams) {
		return apiErr(http.StatusTooManyRequests, "too_many_streams", fmt.Sprintf("at most %d event streams per tenant are open at once; close one", MaxEventStreams))
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	st := s.deps.Store
	ready := &s.ready
	p := principalOf(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer streams.Done(tenant)
		ctx := context.Background()
		last, checked := time.Now(), time.Now()
		fmt.Fprint(w, ": events\n\n")
		if w.Flush() != nil {
			return
		}
		for ready.Load() {
			if time.Since(checked) >= EventStreamRecheck {
				if !p.StillValid(ctx) {
					fmt.Fprint(w, "event: error\ndata: {\"error\":{\"code\":\"unauthorized\",\"message\":\"the API key or session this stream was opened with was revoked or expired; open it again with a valid one\"}}\n\n")
					_ = w.Flush()
					return
				}
				checked = time.Now()
			}
			var evs []store.Event
			err := st.InTenant(ctx, tenant, func(tx store.Tx) (err error) { evs, err = listEventsOf(ctx, tx, source, after, 100); return })
			if err != nil {
				fmt.Fprint(w, ": database unavailable, retrying\n\n")
			}
			for i := range evs {
				b, _ := json.Marshal(toEventBody(&evs[i]))
				fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", evs[i].Pos, sseField(evs[i].Type), b)
				after = evs[i].Pos
			}
			if len(evs) == 0 && time.Since(last) > 15*time.Second {
				fmt.Fprint(w, ": keep-alive\n\n")
			}
			if len(evs) > 0 || err != nil || time.Since(last) > 15*time.Second {
				if w.Flush() != nil {
					return // the client went away
				}
				last = time.Now()
			}
			if len(evs) < 100 {
				time.Sleep(eventStreamPoll)
			}
		}
	})
	return nil
}

// sseField keeps a value on its one line of a server-sent event: a line
// break in it (an event type a plugin chose, say) would start fields of
// its own.
func sseField(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, v)
}
