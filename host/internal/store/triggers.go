package store

import (
	"context"
	"time"
)

// Trigger instance statuses.
const (
	// TriggerActive: polled on schedule, or receiving webhooks.
	TriggerActive = "active"
	// TriggerNeedsReauth: the connection was revoked or expired; the
	// instance resumes once the tenant reconnects.
	TriggerNeedsReauth = "needs_reauth"
	// TriggerDisabled: the connection was deleted; nothing runs.
	TriggerDisabled = "disabled"
	// TriggerFailed: the instance cannot run (its webhook could not be
	// registered, its trigger is gone).
	TriggerFailed = "failed"
)

// MaxTriggerName bounds trigger_instances.trigger_name.
const MaxTriggerName = 200

// MaxTriggerAccount bounds trigger_instances.account.
const MaxTriggerAccount = 256

// TriggerInstance is one trigger of a provider a tenant runs on one of
// its connections.
type TriggerInstance struct {
	ID           string
	TenantID     string
	ConnectionID string
	Provider     string
	Trigger      string
	// Kind is the trigger's kind (provider.TriggerPolling, …).
	Kind string
	// Input is the validated input object (JSON).
	Input []byte
	// Deliver: the instance's events are delivered to the tenant's
	// webhook URL (they are always in the pull and the stream).
	Deliver bool
	// StateCT is the sealed poll state; RegistrationCT the sealed
	// registration Enable returned.
	StateCT        []byte
	RegistrationCT []byte
	// HookHash is the hex SHA-256 of the hook id (webhook kind).
	HookHash string
	// Account is the provider account an app webhook instance listens
	// to (the connection's team or workspace id).
	Account   string
	Status    string
	LastError string
	// IntervalSeconds is the polling interval.
	IntervalSeconds int
	NextPollAt      *time.Time
	LeaseUntil      *time.Time
	LeaseToken      string
	LastPolledAt    *time.Time
	LastEventAt     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TriggerRef points at one trigger instance.
type TriggerRef struct {
	TenantID   string
	InstanceID string
}

// TriggerTx is implemented by every Tx: the tenant-scoped statements of
// trigger instances and of their events. Callers type-assert a Tx to it.
type TriggerTx interface {
	// CreateTrigger inserts an instance (setting ID when empty and the
	// timestamps).
	CreateTrigger(ctx context.Context, ti *TriggerInstance) error
	GetTrigger(ctx context.Context, id string) (*TriggerInstance, error)
	// ListTriggers lists the tenant's instances, newest first; a
	// non-empty connectionID keeps that connection's.
	ListTriggers(ctx context.Context, connectionID string, limit int) ([]TriggerInstance, error)
	// UpdateTrigger writes status, last error, state, registration,
	// account, schedule and the last times. When leaseToken is not empty
	// it writes only while the instance is still leased under that token
	// (ErrConflict otherwise) and clears the lease.
	UpdateTrigger(ctx context.Context, ti *TriggerInstance, leaseToken string) error
	// TouchTriggerEvent sets an instance's last event time (and its
	// update time) without writing the rest: ErrNotFound when the tenant
	// has no such instance or it is disabled or failed (it takes no
	// events).
	TouchTriggerEvent(ctx context.Context, id string, at time.Time) error
	DeleteTrigger(ctx context.Context, id string) error
	// ListSourceEvents lists the events of one source with a position
	// above after, in order.
	ListSourceEvents(ctx context.Context, source string, after int64, limit int) ([]Event, error)
	// ListLatestEvents lists the newest events with a position above
	// after, newest first: of one source, or of every source when source
	// is empty.
	ListLatestEvents(ctx context.Context, source string, after int64, limit int) ([]Event, error)
}

// TriggerStore is implemented by every Store: the lookups of trigger
// instances made before the tenant is known.
type TriggerStore interface {
	// ClaimDueTriggers leases up to limit polling instances (active or
	// needing re-auth) due at now and not leased, until until, under
	// token. Replicas claiming at once never get the same instance.
	ClaimDueTriggers(ctx context.Context, now, until time.Time, token string, limit int) ([]TriggerRef, error)
	// LookupTriggerHook returns the instance whose hook id hashes to
	// hookHash; ErrNotFound when none.
	LookupTriggerHook(ctx context.Context, hookHash string) (TriggerRef, error)
	// AppTriggers lists the active app webhook instances of a provider
	// account, across tenants.
	AppTriggers(ctx context.Context, provider, account string, limit int) ([]TriggerRef, error)
	// TakeProviderPoll takes a turn of provider's poll budget, shared by
	// every replica on the database: at most burst turns at once and one
	// more per every after that. It returns 0 when the turn is taken, or
	// how long until the next one is free (nothing is taken then).
	TakeProviderPoll(ctx context.Context, provider string, now time.Time, every time.Duration, burst int) (time.Duration, error)
}

// ProviderBudgetTurn is the statement both backends run to take a turn
// of a provider's poll budget ($1 provider, $2 now, $3 the emission
// interval, $4 the burst's tolerance, all in microseconds; greatest names
// the backend's two-argument maximum): it returns a row when the turn is
// taken and none when the budget is spent.
func ProviderBudgetTurn(greatest string) string {
	return `INSERT INTO trigger_provider_budgets (provider, tat_us) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT))
		ON CONFLICT (provider) DO UPDATE SET tat_us = ` + greatest + `(trigger_provider_budgets.tat_us, CAST($2 AS BIGINT)) + CAST($3 AS BIGINT)
		WHERE ` + greatest + `(trigger_provider_budgets.tat_us, CAST($2 AS BIGINT)) - CAST($2 AS BIGINT) <= CAST($4 AS BIGINT)
		RETURNING tat_us`
}

// BudgetWait is how long after now the next turn of a budget whose
// theoretical arrival time is tat is free.
func BudgetWait(tat, now time.Time, every time.Duration, burst int) time.Duration {
	return max(tat.Sub(now)-time.Duration(max(burst, 1)-1)*every, time.Microsecond)
}

func init() {
	Columns["trigger_instances.provider"] = MaxProvider
	Columns["trigger_instances.trigger_name"] = MaxTriggerName
	Columns["trigger_instances.account"] = MaxTriggerAccount
	Columns["trigger_provider_budgets.provider"] = MaxProvider
}

// HookRecorder records a webhook's events in a group commit: the writes
// of concurrent webhooks, across tenants, share one transaction and one
// durable commit (PostgreSQL). A store without it records them in a
// transaction of their own.
type HookRecorder interface {
	RecordHookEvents(ctx context.Context, tenantID string, r *HookRecord) error
}

// HookRecord is one webhook's events for RecordHookEvents. The caller sets
// the fields above Live; the store fills in the rest and each item's.
type HookRecord struct {
	// Source is the trigger instance; its events take the tenant's and
	// the instance's next positions, in Items order.
	Source string
	Type   string
	// Deliver: a recorded event gets a pending delivery when the tenant
	// has a webhook URL.
	Deliver bool
	// At is when the events were created and their deliveries are due.
	At time.Time
	// LeaseUntil, when set, leases a new delivery to the caller until
	// then when no earlier delivery of the source is pending, so the
	// caller attempts it without claiming it first.
	LeaseUntil time.Time
	Items      []HookItem

	// Live: the instance takes events (it exists and is neither disabled
	// nor failed); nothing is recorded otherwise.
	Live bool
	// Tenant is the tenant as the transaction saw it, when a delivery
	// was recorded.
	Tenant *Tenant
}

// HookItem is one event of a HookRecord.
type HookItem struct {
	// ID and Payload are the caller's; the rest of Event is filled in
	// when the event is recorded.
	Event      Event
	DeliveryID string
	// Recorded: the event is new (no event had its id).
	Recorded bool
	// Delivery is the event's new delivery, if any; Leased when it is
	// leased to the caller (until HookRecord.LeaseUntil).
	Delivery *Delivery
	Leased   bool
}

// DeliveryBatcher claims deliveries and records attempts' outcomes in a
// group commit (PostgreSQL), each in one round trip shared with the
// writes of concurrent callers. A store without it does the same in a
// transaction of its own (ClaimDelivery, PendingBefore, UpdateDelivery).
type DeliveryBatcher interface {
	// ClaimForAttempt leases a delivery until until, as ClaimDelivery,
	// when no earlier delivery of its source is pending, and reads its
	// event and the tenant. Not claimed: Claim.Claimed is false, with the
	// delivery as it is (nil when gone) and Earlier set when an earlier
	// one is pending.
	ClaimForAttempt(ctx context.Context, tenantID, id string, now, until time.Time) (*Claim, error)
	// SettleDelivery writes an attempt's outcome, as UpdateDelivery. When
	// next is set and d is no longer pending, it also reads the source's
	// earliest pending delivery (Claim.Delivery, nil when none) and
	// leases it until until when it is due and not leased, with its
	// event and the tenant (Claim.Claimed).
	SettleDelivery(ctx context.Context, tenantID string, d *Delivery, next bool, now, until time.Time) (*Claim, error)
	// ClaimEarliest reads the source's earliest pending delivery
	// (Claim.Delivery, nil when none) and leases it until until when it
	// is due and not leased, with its event and the tenant.
	ClaimEarliest(ctx context.Context, tenantID, source string, now, until time.Time) (*Claim, error)
}

// Claim is what a DeliveryBatcher read.
type Claim struct {
	Delivery *Delivery
	Claimed  bool
	Earlier  bool
	Event    *Event
	Tenant   *Tenant
}
