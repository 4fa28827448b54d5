// Package delivery records the events a tenant is told about and delivers
// them to the tenant's webhook endpoint, signed per the Standard Webhooks
// specification.
//
// Emit stores an event (ordered per tenant for cursor pulls and per
// source for delivery) and, when the tenant has a webhook URL, a pending
// delivery and its River job in the same transaction: an acknowledged
// event is never lost. A trigger's events (Append) get no job each: the
// replica that recorded them delivers them in order at once (a drain),
// a failed attempt schedules the job retrying it, and the sweep hands a
// source whose drain died with its replica to a job. Delivery is at least once; the event id (the
// webhook-id header and the body's "id") stays the same across attempts
// and replays, so receivers deduplicate on it. Event n+1 of a source is
// not sent before event n is delivered or dead.
//
// An attempt leases its delivery; a replica that dies mid-attempt leaves
// a lease that runs out, and the sweep (a periodic job on the leader)
// hands the delivery to a new job. A failed attempt is retried after an
// exponential backoff with jitter; after MaxAttempts attempts the delivery
// is dead, until a manual replay makes it pending again.
package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/ratelimit"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

// Defaults.
const (
	DefaultMaxAttempts = 12
	DefaultTimeout     = 10 * time.Second
	// MaxResponseBytes of an endpoint's answer are read; the rest is
	// dropped with the connection.
	MaxResponseBytes = 64 << 10
	// MaxOverlap bounds how long a rotated secret stays valid.
	MaxOverlap = 7 * 24 * time.Hour
	// DefaultOverlap is a rotation's overlap when none is asked for.
	DefaultOverlap = 24 * time.Hour
	// MaxTenantDeliveries is how many deliveries of one tenant run at once
	// on a replica; a tenant's hanging endpoint holds that many workers,
	// never all of them.
	MaxTenantDeliveries = 2
)

// Errors.
var (
	// ErrNoEndpoint: the tenant has no webhook URL.
	ErrNoEndpoint = errors.New("delivery: no webhook URL is configured")
	// ErrPending: a replay of an event whose delivery is still pending.
	ErrPending = errors.New("delivery: the event's delivery is still pending")
	// ErrBadURL: a webhook URL that is not an absolute http(s) URL.
	ErrBadURL = errors.New("webhook url must be an absolute http(s) URL without credentials")
)

// Queue inserts jobs; *jobs.Client satisfies it.
type Queue interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	InsertTx(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Config configures a Service. Store and Keyring are required.
type Config struct {
	Store   store.Store
	Keyring *vault.Keyring
	// HTTPClient posts deliveries. It must not follow redirects; the
	// host's is built on the outbound transport (private-address guard).
	// A client refusing redirects when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      func() time.Time
	// MaxAttempts before a delivery is dead (ATOM_DELIVERY_MAX_ATTEMPTS).
	MaxAttempts int
	// Timeout bounds one attempt's request, answer included
	// (ATOM_DELIVERY_TIMEOUT).
	Timeout time.Duration
	// Backoff is the wait after the n-th failed attempt (n from 1);
	// Backoff when nil.
	Backoff func(n int) time.Duration
	// Retention is how long an event is kept once its delivery settled
	// (ATOM_EVENT_RETENTION); zero keeps events for ever.
	Retention time.Duration
}

// Backoff is the default retry schedule: 5 s doubling per attempt, at most
// an hour, each ±20 % at random.
func Backoff(n int) time.Duration { return BackoffFrom(5 * time.Second)(n) }

// BackoffFrom is Backoff starting at base instead of 5 s.
func BackoffFrom(base time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration { return backoff(base, n) }
}

func backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*mathrand.Float64()))
}

// Service records and delivers events. It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu    sync.RWMutex
	queue Queue
	wg    sync.WaitGroup

	inFlight ratelimit.InFlight // attempts per tenant on this replica
	drains   drainSet           // sources being drained at once (append.go)
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Backoff == nil {
		cfg.Backoff = Backoff
	}
	log := slog.New(outbound.NewRedactingHandler(cfg.Logger.Handler())).With("component", "delivery")
	return &Service{cfg: cfg, log: log}
}

// MaxAttempts is the configured number of attempts.
func (s *Service) MaxAttempts() int { return s.cfg.MaxAttempts }

// SetQueue sets the job queue (its workers need the Service first).
func (s *Service) SetQueue(q Queue) {
	s.mu.Lock()
	s.queue = q
	s.mu.Unlock()
}

func (s *Service) q() Queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queue
}

// Wait blocks until in-process deliveries (made without a queue) end.
func (s *Service) Wait() { s.wg.Wait() }

// lease is how long an attempt holds its delivery: longer than the
// attempt can take, so only a dead holder's lease runs out.
func (s *Service) lease() time.Duration { return 2*s.cfg.Timeout + 5*time.Second }

// Message is the JSON body of a delivery.
type Message struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	TenantID  string          `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// Body is the JSON body delivered for e: the same bytes on every attempt.
func Body(e *store.Event) ([]byte, error) {
	data := e.Payload
	if len(data) == 0 {
		data = []byte("null")
	}
	return json.Marshal(Message{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC(), TenantID: e.TenantID, Data: data})
}

// Emit records an event of source for the tenant and, when the tenant
// has a webhook URL, schedules its delivery in the same transaction.
func (s *Service) Emit(ctx context.Context, tenantID, source, typ string, data any) (*store.Event, error) {
	payload, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	e := &store.Event{Source: source, Type: typ, Payload: payload, CreatedAt: s.cfg.Clock().UTC()}
	q := s.q()
	var d *store.Delivery
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		d, err = tx.AppendEvent(ctx, e, t.WebhookURL != "")
		if err != nil || d == nil || q == nil {
			return err
		}
		_, err = q.InsertTx(ctx, tx, s.args(d), s.insertOpts())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("emit %s: %w", typ, err)
	}
	if d != nil && q == nil {
		s.inProcess(ctx, tenantID, d.ID)
	}
	return e, nil
}

func (s *Service) args(d *store.Delivery) DeliverArgs {
	return DeliverArgs{TenantID: d.TenantID, DeliveryID: d.ID}
}

func (s *Service) insertOpts() *river.InsertOpts {
	// A failed attempt is a River error (stored with the job, redacted)
	// retried at the delivery's own backoff (Worker.NextRetry); the
	// delivery counts the attempts and goes dead first. Waits for an
	// earlier event snooze and count nothing.
	return &river.InsertOpts{Queue: jobs.QueueWebhooks, MaxAttempts: s.cfg.MaxAttempts + 10}
}

// retryOpts are the options of the job retrying a failed attempt of d
// (one a drain made): due at d's next attempt.
func (s *Service) retryOpts(d *store.Delivery) *river.InsertOpts {
	opts := s.insertOpts()
	opts.ScheduledAt = d.NextAttemptAt
	return opts
}

// inProcess delivers without a queue (tests, tools): a few attempts in a
// goroutine.
func (s *Service) inProcess(ctx context.Context, tenantID, id string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx := context.WithoutCancel(ctx)
		for i := 0; i < 10; i++ {
			wait, err := s.Attempt(ctx, tenantID, id)
			if err == nil && wait == 0 {
				return
			}
			var ae *AttemptError
			if err != nil && !errors.As(err, &ae) {
				s.log.Warn("delivery failed", "tenant", tenantID, "delivery", id, "err", err)
			}
			if wait > 2*time.Second {
				return // a retry's backoff: without a queue, given up
			}
			time.Sleep(max(wait, 100*time.Millisecond))
		}
	}()
}

// Attempt makes one delivery attempt when the delivery is due and no
// other attempt holds it. It returns how long to wait before the next
// attempt (0: nothing left to do — delivered, dead, gone, or held by a
// live attempt elsewhere).
func (s *Service) Attempt(ctx context.Context, tenantID, id string) (time.Duration, error) {
	c, wait, err := s.claim(ctx, tenantID, id)
	if err != nil || c == nil {
		return wait, err
	}
	o, err := s.send(ctx, tenantID, c, modeOne)
	return o.wait, err
}

// attemptMode says what the transaction recording an attempt's outcome
// does besides.
type attemptMode int

const (
	// modeOne records the outcome only.
	modeOne attemptMode = iota
	// modeJob (a job's attempt) also reads the source's earliest pending
	// delivery once the attempt settled its own.
	modeJob
	// modeDrain (a drain's attempt) also claims that delivery, for the
	// drain's next attempt, and schedules a job retrying a failed
	// attempt after its backoff.
	modeDrain
)

// claimed is a delivery whose lease this replica holds, with what its
// attempt sends.
type claimed struct {
	d  *store.Delivery
	ev *store.Event
	t  *store.Tenant
}

// outcome is what send reports of an attempt.
type outcome struct {
	// wait is how long before the delivery's next attempt (0: settled).
	wait time.Duration
	// looked: the outcome's transaction looked for the source's earliest
	// pending delivery (modeJob, modeDrain), found as following (nil:
	// none) and, in modeDrain, claimed as next when it was due.
	looked    bool
	following *store.Delivery
	next      *claimed
}

// claim takes the delivery's lease when it is due, no other attempt holds
// it and no earlier delivery of its source is pending; nil (and how long
// to wait, 0 when there is nothing to do) when not.
func (s *Service) claim(ctx context.Context, tenantID, id string) (c *claimed, wait time.Duration, err error) {
	now := s.cfg.Clock().UTC()
	if b, ok := s.cfg.Store.(store.DeliveryBatcher); ok {
		cl, err := b.ClaimForAttempt(ctx, tenantID, id, now, now.Add(s.lease()))
		if errors.Is(err, store.ErrNotFound) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		d := cl.Delivery
		switch {
		case cl.Claimed:
			return &claimed{d: d, ev: cl.Event, t: cl.Tenant}, 0, nil
		case d == nil:
			return nil, 0, nil // gone
		case cl.Earlier && d.State == store.DeliveryPending:
			// Per-source order: a moment after the earlier event's
			// attempt, and not before this one is due.
			wait = 200*time.Millisecond + mathrand.N(300*time.Millisecond)
			if d.NextAttemptAt.After(now) {
				wait += d.NextAttemptAt.Sub(now)
			}
		case d.State == store.DeliveryPending && (d.LeaseUntil == nil || !d.LeaseUntil.After(now)) && d.NextAttemptAt.After(now):
			wait = d.NextAttemptAt.Sub(now) // not due yet
		}
		return nil, wait, nil
	}
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		c = nil
		d, err := tx.ClaimDelivery(ctx, id, now, now.Add(s.lease()))
		if errors.Is(err, store.ErrConflict) {
			if d.State == store.DeliveryPending && (d.LeaseUntil == nil || !d.LeaseUntil.After(now)) && d.NextAttemptAt.After(now) {
				wait = d.NextAttemptAt.Sub(now) // not due yet
			}
			return nil
		}
		if err != nil {
			return err
		}
		// Per-source order: wait for an earlier pending event.
		prev, err := tx.PendingBefore(ctx, d.Source, d.Seq)
		switch {
		case err == nil:
			// Not before the earlier event's next attempt (so the sweep
			// leaves this one alone meanwhile), then a moment after it.
			wait = 200*time.Millisecond + mathrand.N(300*time.Millisecond)
			if prev.NextAttemptAt.After(d.NextAttemptAt) {
				d.NextAttemptAt = prev.NextAttemptAt
			}
			if d.NextAttemptAt.After(now) {
				wait += d.NextAttemptAt.Sub(now)
			}
			return tx.UpdateDelivery(ctx, d)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		c, err = readClaimed(ctx, tx, d)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil // the tenant or the delivery is gone
	}
	if err != nil {
		return nil, 0, err
	}
	return c, wait, nil
}

// readClaimed reads the event and tenant of a delivery just claimed.
func readClaimed(ctx context.Context, tx store.Tx, d *store.Delivery) (*claimed, error) {
	ev, err := tx.GetEvent(ctx, d.EventID)
	if err != nil {
		return nil, err
	}
	t, err := tx.GetTenant(ctx)
	if err != nil {
		return nil, err
	}
	return &claimed{d: d, ev: ev, t: t}, nil
}

// send makes the attempt of a claimed delivery and records its outcome,
// with what mode asks for besides.
func (s *Service) send(ctx context.Context, tenantID string, c *claimed, mode attemptMode) (o outcome, err error) {
	d, ev := c.d, c.ev
	var status int
	body, postErr := Body(ev)
	if postErr == nil {
		status, postErr = s.post(ctx, c.t, ev.ID, body)
	}
	end := s.cfg.Clock().UTC()
	d.Attempts++
	d.LastStatus = status
	switch {
	case postErr == nil:
		d.State, d.LastError, d.DeliveredAt = store.DeliveryDelivered, "", &end
	case d.Attempts >= s.cfg.MaxAttempts || errors.Is(postErr, ErrNoEndpoint):
		d.State, d.LastError = store.DeliveryDead, outbound.RedactError(postErr).Error()
	default:
		o.wait = s.cfg.Backoff(d.Attempts)
		d.LastError, d.NextAttemptAt = outbound.RedactError(postErr).Error(), end.Add(o.wait)
	}
	q := s.q()
	if b, ok := s.cfg.Store.(store.DeliveryBatcher); ok {
		now := s.cfg.Clock().UTC()
		var cl *store.Claim
		cl, err = b.SettleDelivery(context.WithoutCancel(ctx), tenantID, d, mode != modeOne, now, now.Add(s.lease()))
		if err == nil && d.State != store.DeliveryPending && mode != modeOne {
			o.looked, o.following = true, cl.Delivery
			if cl.Claimed {
				o.next = &claimed{d: cl.Delivery, ev: cl.Event, t: cl.Tenant}
			}
		}
		if err == nil && d.State == store.DeliveryPending && mode == modeDrain && q != nil {
			// No job holds a drained delivery: one retries it. Should
			// this fail, the sweep finds the delivery overdue.
			if qerr := q.Enqueue(context.WithoutCancel(ctx), s.args(d), s.retryOpts(d)); qerr != nil {
				s.log.Warn("delivery retry not scheduled; the sweep resumes it", "tenant", tenantID, "delivery", d.ID, "err", qerr)
			}
		}
	} else {
		err = s.recordOutcome(ctx, tenantID, d, mode, &o)
	}
	if err != nil {
		// The lease runs out and the sweep retries the delivery (and the
		// following one, whose lease was taken with this transaction).
		return outcome{}, fmt.Errorf("delivery %s: record outcome: %w", d.ID, err)
	}
	switch {
	case d.State == store.DeliveryDead:
		s.log.Warn("delivery dead", "tenant", tenantID, "delivery", d.ID, "event", d.EventID, "attempts", d.Attempts, "last_error", d.LastError)
	case d.State == store.DeliveryPending:
		s.log.Warn("delivery attempt failed", "tenant", tenantID, "delivery", d.ID, "event", d.EventID, "attempt", d.Attempts, "retry_in", o.wait.String(), "err", d.LastError)
		return o, &AttemptError{Msg: d.LastError, Wait: o.wait}
	}
	return o, nil
}

// recordOutcome records an attempt's outcome in a transaction of its own,
// with what mode asks for besides (see outcome).
func (s *Service) recordOutcome(ctx context.Context, tenantID string, d *store.Delivery, mode attemptMode, o *outcome) error {
	q := s.q()
	return s.cfg.Store.InTenant(context.WithoutCancel(ctx), tenantID, func(tx store.Tx) error {
		o.following, o.next, o.looked = nil, nil, false
		if err := tx.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		if d.State == store.DeliveryPending {
			if mode == modeDrain && q != nil {
				// No job holds a drained delivery: one retries it.
				_, err := q.InsertTx(ctx, tx, s.args(d), s.retryOpts(d))
				return err
			}
			return nil
		}
		if mode == modeOne {
			return nil
		}
		f, err := tx.PendingBefore(ctx, d.Source, math.MaxInt64)
		if errors.Is(err, store.ErrNotFound) {
			o.looked = true
			return nil
		}
		if err != nil {
			return err
		}
		o.following, o.looked = f, true
		if mode != modeDrain {
			return nil
		}
		now := s.cfg.Clock().UTC()
		n, err := tx.ClaimDelivery(ctx, f.ID, now, now.Add(s.lease()))
		if errors.Is(err, store.ErrConflict) {
			return nil // leased elsewhere, or not due: the drain looks again
		}
		if err != nil {
			return err
		}
		o.next, err = readClaimed(ctx, tx, n)
		return err
	})
}

// AttemptError is Attempt's error for an attempt the endpoint failed; the
// delivery is retried after Wait. Its message names the endpoint without
// its query string or credentials.
type AttemptError struct {
	Msg  string
	Wait time.Duration
}

func (e *AttemptError) Error() string { return "delivery attempt failed: " + e.Msg }

// DeliverBody posts a body made before events were stored (a job queued
// by an earlier version) to the tenant's endpoint, once.
func (s *Service) DeliverBody(ctx context.Context, tenantID, eventID string, body []byte) error {
	var t *store.Tenant
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) (err error) { t, err = tx.GetTenant(ctx); return })
	if err != nil {
		return err
	}
	if t.WebhookURL == "" {
		return nil
	}
	_, err = s.post(ctx, t, eventID, body)
	return err
}

// post sends one attempt and returns the endpoint's status (0: none).
func (s *Service) post(ctx context.Context, t *store.Tenant, id string, body []byte) (int, error) {
	if t.WebhookURL == "" {
		return 0, ErrNoEndpoint
	}
	secrets, err := s.secrets(t)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	now := s.cfg.Clock()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Atom-Webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(id, now, body, secrets...))
	req.Header.Set(LegacyHeaderEventID, id)
	req.Header.Set(LegacyHeaderSignature, LegacySign(now, body, secrets...))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, fmt.Errorf("endpoint answered %s (redirects are not followed)", resp.Status)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

func secretAD(tenantID string) vault.AD {
	return vault.AD{Table: "tenants", Column: "webhook_secret", TenantID: tenantID, RowID: tenantID}
}

func prevSecretAD(tenantID string) vault.AD {
	return vault.AD{Table: "tenants", Column: "webhook_prev_secret", TenantID: tenantID, RowID: tenantID}
}

// secrets returns the tenant's signing secrets: the current one, then
// the rotated one while its overlap lasts.
func (s *Service) secrets(t *store.Tenant) ([]string, error) {
	cur, err := s.cfg.Keyring.Open(t.WebhookSecretCT, secretAD(t.ID))
	if err != nil {
		return nil, fmt.Errorf("open webhook secret: %w", err)
	}
	out := []string{string(cur)}
	if len(t.WebhookPrevSecretCT) > 0 && t.WebhookPrevExpiresAt != nil && t.WebhookPrevExpiresAt.After(s.cfg.Clock()) {
		prev, err := s.cfg.Keyring.Open(t.WebhookPrevSecretCT, prevSecretAD(t.ID))
		if err != nil {
			return nil, fmt.Errorf("open previous webhook secret: %w", err)
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// CheckURL refuses what cannot be a webhook URL. Private addresses are
// refused when delivering, by the outbound guard, unless the operator
// allows them.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ErrBadURL
	}
	return nil
}

// SetEndpoint sets the tenant's webhook URL with a new signing secret,
// returned once and stored only sealed; the previous secret stops at once
// (RotateSecret keeps it valid for a while). An empty URL removes the
// endpoint.
func (s *Service) SetEndpoint(ctx context.Context, tenantID, rawURL string) (string, error) {
	var secret string
	var ct []byte
	var kid string
	if rawURL != "" {
		if err := CheckURL(rawURL); err != nil {
			return "", err
		}
		var err error
		if secret, err = NewSecret(); err != nil {
			return "", err
		}
		if ct, kid, err = s.cfg.Keyring.Seal([]byte(secret), secretAD(tenantID)); err != nil {
			return "", err
		}
	}
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		t.WebhookURL, t.WebhookSecretCT, t.WebhookKeyID = rawURL, ct, kid
		t.WebhookPrevSecretCT, t.WebhookPrevKeyID, t.WebhookPrevExpiresAt = nil, "", nil
		return tx.UpdateTenant(ctx, t)
	})
	if err != nil {
		return "", fmt.Errorf("set webhook: %w", err)
	}
	return secret, nil
}

// Endpoint is a tenant's webhook configuration, without secrets.
type Endpoint struct {
	URL string `json:"url"`
	// PreviousSecretExpiresAt is when the secret a rotation replaced
	// stops signing deliveries; nil when there is none.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

// GetEndpoint returns the tenant's webhook configuration.
func (s *Service) GetEndpoint(ctx context.Context, tenantID string) (Endpoint, error) {
	var ep Endpoint
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		ep.URL = t.WebhookURL
		if t.WebhookPrevExpiresAt != nil && t.WebhookPrevExpiresAt.After(s.cfg.Clock()) && len(t.WebhookPrevSecretCT) > 0 {
			at := t.WebhookPrevExpiresAt.UTC()
			ep.PreviousSecretExpiresAt = &at
		}
		return nil
	})
	return ep, err
}

// RotateSecret gives the tenant's endpoint a new secret, returned once;
// deliveries are signed with both the new and the previous secret until
// overlap has passed (DefaultOverlap when zero, at most MaxOverlap).
func (s *Service) RotateSecret(ctx context.Context, tenantID string, overlap time.Duration) (string, time.Time, error) {
	if overlap <= 0 {
		overlap = DefaultOverlap
	}
	if overlap > MaxOverlap {
		return "", time.Time{}, fmt.Errorf("overlap must be at most %s", MaxOverlap)
	}
	secret, err := NewSecret()
	if err != nil {
		return "", time.Time{}, err
	}
	until := s.cfg.Clock().UTC().Add(overlap)
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		if t.WebhookURL == "" {
			return ErrNoEndpoint
		}
		cur, err := s.cfg.Keyring.Open(t.WebhookSecretCT, secretAD(tenantID))
		if err != nil {
			return err
		}
		if t.WebhookPrevSecretCT, t.WebhookPrevKeyID, err = s.cfg.Keyring.Seal(cur, prevSecretAD(tenantID)); err != nil {
			return err
		}
		t.WebhookPrevExpiresAt = &until
		if t.WebhookSecretCT, t.WebhookKeyID, err = s.cfg.Keyring.Seal([]byte(secret), secretAD(tenantID)); err != nil {
			return err
		}
		return tx.UpdateTenant(ctx, t)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return secret, until, nil
}

// Replay makes an event's delivery pending again (a dead or delivered
// one; an event never delivered gets its first delivery), with the same
// event id and body, and schedules it.
func (s *Service) Replay(ctx context.Context, tenantID, eventID string) (*store.Delivery, error) {
	now := s.cfg.Clock().UTC()
	q := s.q()
	var d *store.Delivery
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		if _, err := tx.GetEvent(ctx, eventID); err != nil {
			return err
		}
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return err
		}
		if t.WebhookURL == "" {
			return ErrNoEndpoint
		}
		d, err = tx.GetDeliveryByEvent(ctx, eventID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			d, err = tx.CreateDelivery(ctx, eventID, now)
		case err == nil && d.State == store.DeliveryPending:
			return ErrPending
		case err == nil:
			d, err = tx.ResetDelivery(ctx, d.ID, now)
			if errors.Is(err, store.ErrConflict) {
				return ErrPending
			}
		}
		if err != nil || q == nil {
			return err
		}
		_, err = q.InsertTx(ctx, tx, s.args(d), s.insertOpts())
		return err
	})
	if err != nil {
		return nil, err
	}
	if q == nil {
		s.inProcess(ctx, tenantID, d.ID)
	}
	return d, nil
}

// expireBatch bounds the events one statement of Expire removes.
const expireBatch = 1000

// Expire removes events older than the retention whose delivery settled
// (delivered or dead) or that have none, in batches, until none is left
// or ctx ends. It returns how many it removed.
func (s *Service) Expire(ctx context.Context) (int, error) {
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	before := s.cfg.Clock().Add(-s.cfg.Retention).UTC()
	total := 0
	for ctx.Err() == nil {
		n, err := s.cfg.Store.ExpireEvents(ctx, before, expireBatch)
		total += n
		if err != nil || n < expireBatch {
			return total, err
		}
	}
	return total, ctx.Err()
}

// StallGrace is how long past due a pending delivery nothing leases
// waits before the sweep hands it to a job: a drain between two attempts,
// or waiting for a tenant's attempt slot, takes it well before.
const StallGrace = 10 * time.Second

// Sweep hands stalled deliveries (their attempt's host died, or their
// drain or job was lost) to new jobs: the earliest pending delivery of
// each such source, whose job goes on with the rest of the source.
// Claiming makes a duplicate job harmless.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	q := s.q()
	if q == nil {
		return 0, nil
	}
	now := s.cfg.Clock().UTC()
	refs, err := s.cfg.Store.StalledDeliveries(ctx, now, now.Add(-StallGrace), 500)
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		if err := q.Enqueue(ctx, DeliverArgs{TenantID: r.TenantID, DeliveryID: r.DeliveryID}, s.insertOpts()); err != nil {
			return 0, err
		}
	}
	return len(refs), nil
}
