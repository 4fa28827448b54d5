// Package webhook delivers signed connection events to tenants.
//
// A tenant registers one URL (PUT /api/v1/webhook); Atom generates a
// signing secret, returns it once and stores it encrypted. Each event is a
// JSON document
//
//	{"id":"evt_…","type":"connection.refresh_failed","created_at":"…","tenant_id":"…",
//	 "data":{"provider":"slack","connection_id":"conn_…","status":"expired","reason":"…"}}
//
// posted with the headers
//
//	Atom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//	Atom-Event-Id:  evt_…
//
// Receivers check the signature with Verify. Delivery runs as a River job
// (DeliverArgs, Worker), so a failing receiver is retried with River's
// backoff, from whichever host replica picks the job up.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
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
type Enqueuer interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// Config configures a Sender. Store and Keyring are required.
type Config struct {
	Store   store.Store
	Keyring *vault.Keyring
	// HTTPClient posts deliveries; a client with a 10-second timeout and
	// no redirects when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      func() time.Time
	// Queue runs deliveries as River jobs. Without one, Emit delivers in a
	// goroutine with a few in-process retries.
	Queue Enqueuer
	// MaxAttempts bounds River retries of one delivery (default 12).
	MaxAttempts int
}

// Sender emits and delivers events. It is safe for concurrent use.
type Sender struct {
	cfg Config
	log *slog.Logger

	mu    sync.RWMutex
	queue Enqueuer
	wg    sync.WaitGroup
}

// NewSender returns a Sender.
func NewSender(cfg Config) *Sender {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	log := slog.New(outbound.NewRedactingHandler(cfg.Logger.Handler())).With("component", "webhook")
	return &Sender{cfg: cfg, log: log, queue: cfg.Queue}
}

// SetQueue sets the job queue after construction (the queue's worker
// needs the Sender first).
func (s *Sender) SetQueue(q Enqueuer) {
	s.mu.Lock()
	s.queue = q
	s.mu.Unlock()
}

// Wait blocks until in-process deliveries (made without a queue) finish.
func (s *Sender) Wait() { s.wg.Wait() }

func secretAD(tenantID string) vault.AD {
	return vault.AD{Table: "tenants", Column: "webhook_secret", TenantID: tenantID, RowID: tenantID}
}

// SetTenantWebhook sets the tenant's webhook URL and generates a new
// signing secret, which is returned once and stored only encrypted. An
// empty URL removes the webhook.
func (s *Sender) SetTenantWebhook(ctx context.Context, tenantID, rawURL string) (string, error) {
	var secret string
	var ct []byte
	var kid string
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return "", fmt.Errorf("webhook url must be an absolute http(s) URL without credentials")
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b)
		ct, kid, err = s.cfg.Keyring.Seal([]byte(secret), secretAD(tenantID))
		if err != nil {
			return "", err
		}
	}
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		t.WebhookURL, t.WebhookSecretCT, t.WebhookKeyID = rawURL, ct, kid
		return tx.UpdateTenant(ctx, t)
	})
	if err != nil {
		return "", fmt.Errorf("set webhook: %w", err)
	}
	return secret, nil
}

// TenantWebhook returns the tenant's webhook URL ("" when none).
func (s *Sender) TenantWebhook(ctx context.Context, tenantID string) (string, error) {
	var u string
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		u = t.WebhookURL
		return nil
	})
	return u, err
}

// Emit records an event for the tenant and schedules its delivery. It
// does nothing when the tenant has no webhook.
func (s *Sender) Emit(ctx context.Context, tenantID, typ string, data any) error {
	if s == nil {
		return nil
	}
	u, err := s.TenantWebhook(ctx, tenantID)
	if err != nil || u == "" {
		return err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	ev := Event{ID: "evt_" + hex.EncodeToString(b), Type: typ, CreatedAt: s.cfg.Clock().UTC(), TenantID: tenantID, Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	args := DeliverArgs{TenantID: tenantID, EventID: ev.ID, Body: body}
	s.mu.RLock()
	q := s.queue
	s.mu.RUnlock()
	if q != nil {
		return q.Enqueue(ctx, args, &river.InsertOpts{MaxAttempts: s.cfg.MaxAttempts, Queue: jobs.QueueWebhooks})
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx := context.WithoutCancel(ctx)
		for attempt := 0; attempt < 3; attempt++ {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt) * time.Second)
			}
			if err := s.Deliver(ctx, args); err == nil {
				return
			} else {
				s.log.Warn("webhook delivery failed", "tenant", tenantID, "event", ev.ID, "attempt", attempt+1, "err", err)
			}
		}
	}()
	return nil
}

// Deliver posts one event to the tenant's current webhook URL, signed with
// its current secret. Any non-2xx answer is an error. Errors never hold
// the URL's query string or userinfo (receivers put tokens there): River
// stores them with the job and they are logged.
func (s *Sender) Deliver(ctx context.Context, a DeliverArgs) error {
	return outbound.RedactError(s.deliver(ctx, a))
}

func (s *Sender) deliver(ctx context.Context, a DeliverArgs) error {
	var target string
	var secret []byte
	err := s.cfg.Store.InTenant(ctx, a.TenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		target = t.WebhookURL
		if target == "" {
			return nil
		}
		secret, err = s.cfg.Keyring.Open(t.WebhookSecretCT, secretAD(a.TenantID))
		return err
	})
	if err != nil {
		return fmt.Errorf("webhook %s: %w", a.EventID, err)
	}
	if target == "" {
		return nil // the tenant removed its webhook since
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(a.Body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", a.EventID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Atom-Webhooks/1")
	req.Header.Set(HeaderEventID, a.EventID)
	req.Header.Set(HeaderSignature, Sign(string(secret), s.cfg.Clock(), a.Body))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: post: %w", a.EventID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s: receiver answered %s", a.EventID, resp.Status)
	}
	return nil
}

// DeliverArgs is the River job delivering one event. The body is fixed
// when the event is emitted; the URL and secret are read at delivery.
type DeliverArgs struct {
	TenantID string          `json:"tenant_id"`
	EventID  string          `json:"event_id"`
	Body     json.RawMessage `json:"body"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "atom.webhook.deliver" }

// MaxTenantDeliveries is how many deliveries of one tenant run at once on
// a replica. A receiver that hangs (each attempt may take the client's
// timeout) holds that many workers, never all of them: the tenant's other
// deliveries are snoozed and other tenants' go first.
const MaxTenantDeliveries = 2

// Worker delivers DeliverArgs jobs; River retries failures with backoff.
// Deliveries run on their own queue (jobs.QueueWebhooks), apart from
// token refresh and sweeps.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	Sender *Sender

	mu       sync.Mutex
	inFlight map[string]int
}

// Work delivers one event, or snoozes it while its tenant already has
// MaxTenantDeliveries in flight.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	tenant := job.Args.TenantID
	w.mu.Lock()
	if w.inFlight == nil {
		w.inFlight = map[string]int{}
	}
	if w.inFlight[tenant] >= MaxTenantDeliveries {
		w.mu.Unlock()
		return river.JobSnooze(time.Second + mathrand.N(time.Second))
	}
	w.inFlight[tenant]++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.inFlight[tenant]--; w.inFlight[tenant] <= 0 {
			delete(w.inFlight, tenant)
		}
		w.mu.Unlock()
	}()
	return w.Sender.Deliver(ctx, job.Args)
}

// Timeout bounds one delivery attempt.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 30 * time.Second }

// AddWorkers registers the delivery worker of s.
func AddWorkers(workers *river.Workers, s *Sender) {
	river.AddWorker(workers, &Worker{Sender: s})
}
