// Package webhook emits connection events to tenants.
//
// A tenant registers one URL (PUT /api/v1/webhook); Atom generates a
// signing secret, returns it once and stores it encrypted. Each event is a
// JSON document
//
//	{"id":"evt_…","type":"connection.refresh_failed","created_at":"…","tenant_id":"…",
//	 "data":{"provider":"slack","connection_id":"conn_…","status":"expired","reason":"…"}}
//
// recorded and delivered by package delivery (at least once, in order per
// connection, retried with backoff, dead-lettered, replayable) with the
// Standard Webhooks headers
//
//	webhook-id:        evt_…
//	webhook-timestamp: <unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//
// and, for receivers written against them, Atom's own
//
//	Atom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//	Atom-Event-Id:  evt_…
//
// which Verify checks.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

// Event types.
const (
	EventConnectionCreated       = "connection.created"
	EventConnectionRefreshFailed = "connection.refresh_failed"
	EventConnectionRecovered     = "connection.recovered"
	EventConnectionDisconnected  = "connection.disconnected"
)

// Header names.
const (
	HeaderSignature = "Atom-Signature"
	HeaderEventID   = "Atom-Event-Id"
)

// Errors returned by Verify.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrBadHeader    = errors.New("webhook: malformed Atom-Signature header")
	ErrTooOld       = errors.New("webhook: timestamp outside the tolerance")
)

// Event is the JSON body of one delivery.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	TenantID  string    `json:"tenant_id"`
	Data      any       `json:"data"`
}

// ConnectionData is the data of connection events.
type ConnectionData struct {
	Provider     string `json:"provider"`
	ConnectionID string `json:"connection_id"`
	UserID       string `json:"user_id,omitempty"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
}

// Sign returns the Atom-Signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks an Atom-Signature header against body and secret, and that
// its timestamp lies within tolerance of now (no check when tolerance is
// zero). Several v1 values (during secret rotation) are accepted if any
// matches.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return VerifyAt(secret, header, body, tolerance, time.Now())
}

// VerifyAt is Verify with an explicit current time.
func VerifyAt(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadHeader
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(sec, 0))
		if d > tolerance || d < -tolerance {
			return ErrTooOld
		}
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Enqueuer inserts background jobs. *jobs.Client satisfies it.
type Enqueuer = delivery.Queue

// Config configures a Sender. Store and Keyring are required.
type Config struct {
	Store   store.Store
	Keyring *vault.Keyring
	// HTTPClient posts deliveries; it must not follow redirects (a client
	// refusing them when nil).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      func() time.Time
	// Queue runs deliveries as River jobs. Without one, Emit delivers in a
	// goroutine with a few in-process attempts.
	Queue Enqueuer
	// MaxAttempts before a delivery is dead (delivery.DefaultMaxAttempts
	// when zero).
	MaxAttempts int
	// Timeout bounds one delivery attempt (delivery.DefaultTimeout when
	// zero).
	Timeout time.Duration
	// Retention is how long settled events are kept (zero: for ever).
	Retention time.Duration
	// RetryBase is the first retry's wait (delivery.Backoff's 5 s when
	// zero).
	RetryBase time.Duration
}

// Sender emits connection events through a delivery.Service. It is safe
// for concurrent use.
type Sender struct {
	svc *delivery.Service
}

// NewSender returns a Sender.
func NewSender(cfg Config) *Sender {
	svc := delivery.New(delivery.Config{Store: cfg.Store, Keyring: cfg.Keyring, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		Clock: cfg.Clock, MaxAttempts: cfg.MaxAttempts, Timeout: cfg.Timeout, Retention: cfg.Retention,
		Backoff: backoffOf(cfg.RetryBase)})
	if cfg.Queue != nil {
		svc.SetQueue(cfg.Queue)
	}
	return &Sender{svc: svc}
}

// Delivery is the service recording and delivering events.
func (s *Sender) Delivery() *delivery.Service { return s.svc }

// SetQueue sets the job queue after construction (the queue's worker
// needs the Sender first).
func (s *Sender) SetQueue(q Enqueuer) { s.svc.SetQueue(q) }

// Wait blocks until in-process deliveries (made without a queue) finish.
func (s *Sender) Wait() { s.svc.Wait() }

// SetTenantWebhook sets the tenant's webhook URL and generates a new
// signing secret, which is returned once and stored only encrypted. An
// empty URL removes the webhook.
func (s *Sender) SetTenantWebhook(ctx context.Context, tenantID, rawURL string) (string, error) {
	return s.svc.SetEndpoint(ctx, tenantID, rawURL)
}

// TenantWebhook returns the tenant's webhook URL ("" when none).
func (s *Sender) TenantWebhook(ctx context.Context, tenantID string) (string, error) {
	ep, err := s.svc.GetEndpoint(ctx, tenantID)
	return ep.URL, err
}

// Source is the delivery source of a connection's events: its events are
// delivered in the order they happened.
func Source(connectionID string) string { return "connection:" + connectionID }

// Emit records an event for the tenant and schedules its delivery when
// the tenant has a webhook.
func (s *Sender) Emit(ctx context.Context, tenantID, typ string, data any) error {
	if s == nil {
		return nil
	}
	src := "tenant"
	switch d := data.(type) {
	case ConnectionData:
		src = Source(d.ConnectionID)
	case *ConnectionData:
		src = Source(d.ConnectionID)
	}
	_, err := s.svc.Emit(ctx, tenantID, src, typ, data)
	return err
}

// DeliverArgs is the River job kind earlier versions queued for each
// event, holding its body; jobs still queued at an upgrade are delivered
// once more by Worker. New events are delivery.DeliverArgs jobs.
type DeliverArgs struct {
	TenantID string          `json:"tenant_id"`
	EventID  string          `json:"event_id"`
	Body     json.RawMessage `json:"body"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "atom.webhook.deliver" }

// MaxTenantDeliveries is how many deliveries of one tenant run at once on
// a replica (see delivery.MaxTenantDeliveries).
const MaxTenantDeliveries = delivery.MaxTenantDeliveries

// Worker delivers DeliverArgs jobs queued by earlier versions.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	Sender *Sender
}

// Work delivers one queued body; River retries failures.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.Sender.svc.DeliverBody(ctx, job.Args.TenantID, job.Args.EventID, job.Args.Body)
}

// Timeout bounds one delivery attempt.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 30 * time.Second }

// AddWorkers registers the delivery workers of s.
func AddWorkers(workers *river.Workers, s *Sender) {
	river.AddWorker(workers, &Worker{Sender: s})
	delivery.AddWorkers(workers, s.svc)
}

// PeriodicJobs returns the delivery sweep (delivery.PeriodicJobs).
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return delivery.PeriodicJobs(interval)
}

func backoffOf(base time.Duration) func(int) time.Duration {
	if base <= 0 {
		return nil
	}
	return delivery.BackoffFrom(base)
}
