// Package store defines Atom's persistence contract. Two implementations
// satisfy it and pass one conformance suite (storetest): postgres (pgx,
// row-level security, production) and sqlite (modernc.org/sqlite, the
// embedded default).
//
// Every tenant-scoped read and write runs inside InTenant, which opens a
// transaction bound to one tenant. On Postgres the transaction sets
// app.current_tenant_id so row-level security filters every statement,
// whatever its WHERE clause says; on SQLite every statement filters on the
// tenant explicitly. The few lookups that must happen before the tenant is
// known (API key by prefix, OAuth state by hash, due refreshes) are narrow
// system calls on Store.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound is returned when a row does not exist (or belongs to
	// another tenant, which the caller cannot tell apart).
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a unique constraint or a
	// compare-and-swap version check fails.
	ErrConflict = errors.New("conflict")
	// ErrInvalid is returned when a value cannot be stored as given (too
	// long for its column, a NUL, invalid UTF-8): the input is at fault,
	// not the database. Errors that wrap it are *InvalidError.
	ErrInvalid = errors.New("invalid value")
)

// InvalidError names the field whose value the store refused.
type InvalidError struct {
	// Field is the field's name as the API calls it (e.g. "name").
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + " " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Limits of the text columns the API writes, in characters. The API
// checks the same limits and the OpenAPI document publishes them;
// storetest checks them against the PostgreSQL columns (a limit with no
// column type bound is a TEXT column the API bounds).
const (
	MaxID             = 64   // tenant and user ids
	MaxTenantName     = 200  // tenants.name
	MaxWebhookURL     = 2048 // tenants.webhook_url
	MaxUserEmail      = 320  // users.email
	MaxUserName       = 200  // users.name
	MaxAPIKeyName     = 200  // tenant_api_keys.name
	MaxProvider       = 100  // provider ids in every table
	MaxAction         = 200  // executions.action
	MaxIdempotencyKey = 255  // executions.idempotency_key
	MaxClientID       = 1024 // oauth_apps.client_id
	MaxScopes         = 4096 // oauth_apps.scopes
	MaxParamValue     = 1024 // one connection parameter value
	MaxKVKey          = 512  // kv_store.key, chosen by plugins
)

// Columns maps each VARCHAR column the API writes to its limit.
var Columns = map[string]int{
	"tenants.id":                  MaxID,
	"tenants.name":                MaxTenantName,
	"users.id":                    MaxID,
	"users.email":                 MaxUserEmail,
	"users.name":                  MaxUserName,
	"tenant_api_keys.name":        MaxAPIKeyName,
	"integration_tokens.user_id":  MaxID,
	"integration_tokens.provider": MaxProvider,
	"oauth_states.user_id":        MaxID,
	"oauth_states.provider":       MaxProvider,
	"oauth_apps.provider":         MaxProvider,
	"executions.user_id":          MaxID,
	"executions.provider":         MaxProvider,
	"executions.action":           MaxAction,
	"executions.idempotency_key":  MaxIdempotencyKey,
	"kv_store.provider":           MaxProvider,
	"kv_store.key":                MaxKVKey,
	"events.source":               MaxEventSource,
	"events.type":                 MaxEventType,
	"event_counters.source":       MaxEventSource,
	"deliveries.source":           MaxEventSource,
}

// Store is the database. Implementations are safe for concurrent use.
type Store interface {
	// Backend names the implementation: "postgres" or "sqlite".
	Backend() string
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// ProbeWrite commits one tiny write (the upsert of the heartbeat row)
	// in a transaction of its own: it fails when the database answers but
	// does not take writes (a read-only file, directory or database, a
	// full disk). Readiness calls it.
	ProbeWrite(ctx context.Context) error
	// MigrationsPending reports whether the database lacks migrations
	// this build embeds.
	MigrationsPending(ctx context.Context) (bool, error)
	// Close releases the database.
	Close() error

	// InTenant runs fn in one transaction scoped to tenantID. The
	// transaction commits when fn returns nil and rolls back otherwise.
	InTenant(ctx context.Context, tenantID string, fn func(Tx) error) error

	// LookupAPIKey finds an API key by its public lookup prefix, across
	// tenants (authentication happens before the tenant is known).
	LookupAPIKey(ctx context.Context, prefix string) (*APIKey, error)
	// LookupStateTenant returns the tenant that created the OAuth state
	// with this hash, if it exists and has not expired.
	LookupStateTenant(ctx context.Context, stateHash string, now time.Time) (string, error)
	// DueConnections lists connections whose access token expires before
	// the given time (or whose next_refresh_at is due) and which are
	// active, across tenants, for the background refresher.
	DueConnections(ctx context.Context, before time.Time, limit int) ([]ConnRef, error)
	// TenantIDs lists every tenant id (for key rotation and sweeps).
	TenantIDs(ctx context.Context) ([]string, error)
	// UnsettledExecutions lists pending and running executions, oldest
	// first, across tenants, for the execution reconciler.
	UnsettledExecutions(ctx context.Context, limit int) ([]ExecRef, error)
	// StalledDeliveries lists pending deliveries, across tenants, whose
	// attempt lease ran out before now or which, with no lease, were due
	// before overdue: no attempt is working on them. Only the earliest
	// pending delivery of each source is listed.
	StalledDeliveries(ctx context.Context, now, overdue time.Time, limit int) ([]DeliveryRef, error)
	// ExpireEvents removes, across tenants, at most limit events created
	// before before whose deliveries are settled (delivered or dead) or
	// that have none, with those deliveries; it returns how many.
	ExpireEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// ExecRef is an unsettled execution as the reconciler sees it.
type ExecRef struct {
	TenantID  string
	ID        string
	Status    string
	JobID     int64
	StartedAt *time.Time
	CreatedAt time.Time
}

// BatchWriter is implemented by stores that can run a tenant-scoped,
// write-only transaction — statements whose results the caller does not
// read — in one round trip. fn's statements report their errors when the
// batch runs, as WriteInTenant's error; reads inside fn fail.
type BatchWriter interface {
	WriteInTenant(ctx context.Context, tenantID string, fn func(Tx) error) error
}

// RefreshLocker is implemented by stores that several processes share
// (PostgreSQL): LockRefresh serializes the token refreshes of one
// connection across them without holding a transaction, so tokens a
// provider issues are written in a short transaction of their own. unlock
// releases the lock; the database releases it too when the session ends.
type RefreshLocker interface {
	LockRefresh(ctx context.Context, connectionID string) (unlock func(), err error)
}

// NativeTx is implemented by a Tx that can hand out its backend's own
// transaction (pgx.Tx, *sql.Tx), so a job can be inserted in the same
// commit as the rows that describe it.
type NativeTx interface {
	Native() any
}

// ConnRef points at one connection.
type ConnRef struct {
	TenantID     string
	ConnectionID string
}

// Tx is a tenant-scoped transaction. It is valid only inside the
// InTenant callback and is not safe for concurrent use.
type Tx interface {
	TenantID() string

	// CreateTenant inserts the tenant whose id is TenantID().
	CreateTenant(ctx context.Context, t *Tenant) error
	GetTenant(ctx context.Context) (*Tenant, error)
	UpdateTenant(ctx context.Context, t *Tenant) error

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	CreateWorkspace(ctx context.Context, w *Workspace) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey marks the key revoked; ErrNotFound if it is not this
	// tenant's.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error

	CreateState(ctx context.Context, s *OAuthState) error
	// ConsumeState deletes the state with this hash and returns it;
	// ErrNotFound when absent. A state is usable once.
	ConsumeState(ctx context.Context, stateHash string) (*OAuthState, error)
	DeleteExpiredStates(ctx context.Context, now time.Time) (int, error)

	// UpsertConnection inserts or replaces the connection identified by
	// (tenant, provider, user) and sets c.ID, c.Version, timestamps.
	UpsertConnection(ctx context.Context, c *Connection) error
	// GetConnection returns the connection for (provider, userID); an
	// empty userID means the tenant-wide connection.
	GetConnection(ctx context.Context, provider, userID string) (*Connection, error)
	GetConnectionByID(ctx context.Context, id string) (*Connection, error)
	// LockConnection returns the connection and holds a row lock on it
	// until the transaction ends (Postgres SELECT … FOR UPDATE; SQLite
	// transactions are already exclusive).
	LockConnection(ctx context.Context, id string) (*Connection, error)
	ListConnections(ctx context.Context) ([]Connection, error)
	// UpdateConnection writes c if its stored version still equals
	// c.Version, then increments c.Version. ErrConflict otherwise.
	UpdateConnection(ctx context.Context, c *Connection) error
	DeleteConnection(ctx context.Context, id string) error

	PutOAuthApp(ctx context.Context, a *OAuthApp) error
	GetOAuthApp(ctx context.Context, provider string) (*OAuthApp, error)
	DeleteOAuthApp(ctx context.Context, provider string) error

	CreateExecution(ctx context.Context, e *Execution) error
	// StartExecution marks a pending or running execution running from
	// at (a retried call restarts the clock); ErrConflict when it is
	// settled already, ErrNotFound when absent.
	StartExecution(ctx context.Context, id string, at time.Time) error
	// FinishExecution records status, output, error and duration of an
	// execution still pending or running; ErrConflict when it is settled
	// already (a settled record is never rewritten), ErrNotFound when
	// absent.
	FinishExecution(ctx context.Context, e *Execution) error
	// SettleExecution is FinishExecution for an execution whose status is
	// still from (the reconciler's compare-and-swap).
	SettleExecution(ctx context.Context, e *Execution, from string) error
	GetExecution(ctx context.Context, id string) (*Execution, error)
	// FindExecutionByKey finds an execution by idempotency key created
	// after the given time.
	FindExecutionByKey(ctx context.Context, key string, after time.Time) (*Execution, error)
	ListExecutions(ctx context.Context, f ExecutionFilter) ([]Execution, error)

	AddAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, limit int) ([]AuditEvent, error)

	// RevokeSession refuses the page session whose id hashes to
	// sessionHash until expires, on every host sharing the database; it
	// also sweeps the tenant's revocations that have expired.
	RevokeSession(ctx context.Context, sessionHash string, expires time.Time) error
	// SessionRevoked reports whether the session was revoked and has not
	// expired yet.
	SessionRevoked(ctx context.Context, sessionHash string, now time.Time) (bool, error)

	// KVGet and KVPut serve the per-tenant key-value store of plugins,
	// namespaced by provider.
	KVGet(ctx context.Context, provider, key string) ([]byte, bool, error)
	KVPut(ctx context.Context, provider, key string, value []byte) error
	// KVUsage counts the keys of provider's store and their bytes (keys
	// and values as stored), leaving out the key except, for quotas.
	KVUsage(ctx context.Context, provider, except string) (keys int, bytes int64, err error)

	// AppendEvent stores e with the next position of the tenant and the
	// next sequence number of e.Source (setting ID when empty, Pos, Seq,
	// CreatedAt) and, when deliver is set, a pending delivery of it due at
	// once, which it returns.
	AppendEvent(ctx context.Context, e *Event, deliver bool) (*Delivery, error)
	GetEvent(ctx context.Context, id string) (*Event, error)
	// ListEvents lists events with a position above after, in order.
	ListEvents(ctx context.Context, after int64, limit int) ([]Event, error)
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	// GetDeliveryByEvent returns the delivery of an event; ErrNotFound
	// when it was never delivered.
	GetDeliveryByEvent(ctx context.Context, eventID string) (*Delivery, error)
	// CreateDelivery adds a pending delivery of an event that has none.
	CreateDelivery(ctx context.Context, eventID string, at time.Time) (*Delivery, error)
	// ClaimDelivery takes a pending delivery that is due at now and not
	// leased (or whose lease ran out), leasing it until until;
	// ErrConflict when it is not claimable, ErrNotFound when absent.
	ClaimDelivery(ctx context.Context, id string, now, until time.Time) (*Delivery, error)
	// PendingBefore returns the earliest pending delivery of source with a
	// sequence number below seq; ErrNotFound when there is none.
	PendingBefore(ctx context.Context, source string, seq int64) (*Delivery, error)
	// UpdateDelivery writes the outcome of an attempt (state, attempts,
	// next attempt, last status and error, delivered_at) and clears the
	// lease.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// ResetDelivery makes a delivered or dead delivery pending again, due
	// at at, with no attempts (manual replay); ErrConflict when it is
	// still pending.
	ResetDelivery(ctx context.Context, id string, at time.Time) (*Delivery, error)
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)

	// SecretRows lists every encrypted value of this tenant, for key
	// rotation and audits.
	SecretRows(ctx context.Context) ([]SecretRow, error)
	// UpdateSecret replaces one encrypted value if it still equals
	// old.Ciphertext (ErrConflict otherwise).
	UpdateSecret(ctx context.Context, old SecretRow, ciphertext []byte, keyID string) error
}

// Tenant is one customer of the SaaS product.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// WebhookURL receives signed connection events, if set.
	WebhookURL string
	// WebhookSecretCT is the webhook signing secret, encrypted.
	WebhookSecretCT []byte
	WebhookKeyID    string
	// WebhookPrevSecretCT is the secret a rotation replaced, encrypted;
	// deliveries are signed with it too until WebhookPrevExpiresAt.
	WebhookPrevSecretCT  []byte
	WebhookPrevKeyID     string
	WebhookPrevExpiresAt *time.Time
}

// User is a user of a tenant; connections may belong to one.
type User struct {
	ID        string
	TenantID  string
	Email     string
	Name      string
	CreatedAt time.Time
}

// Workspace groups a tenant's connections (spec column workspace_id).
type Workspace struct {
	ID        string
	TenantID  string
	Name      string
	CreatedAt time.Time
}

// APIKey is a tenant API key. Only a hash of the secret part is stored;
// Prefix is the public lookup part.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string
	Hash       []byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// OAuthState is a pending authorization. StateHash is a SHA-256 of the
// state sent to the provider; the state itself is never stored.
type OAuthState struct {
	ID          string
	TenantID    string
	UserID      string
	StateHash   string
	Provider    string
	RedirectURI string
	ExpiresAt   time.Time
	CreatedAt   time.Time
	// Extra is non-secret JSON (return target, connection params,
	// scopes, OAuth1 request token).
	Extra []byte
	// SecretCT holds encrypted secrets of the flow (PKCE verifier,
	// OAuth1 request token secret).
	SecretCT []byte
	KeyID    string
}

// Connection statuses.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
	StatusError   = "error"
)

// Connection is a tenant's stored credential for one provider (the
// spec's integration_tokens row). Secrets live only in CredentialsCT.
type Connection struct {
	ID          string
	TenantID    string
	UserID      string
	WorkspaceID string
	Provider    string
	AuthKind    string
	// CredentialsCT is the encrypted JSON of the secrets (access and
	// refresh tokens, API key, password, custom fields).
	CredentialsCT []byte
	KeyID         string
	TokenType     string
	ExpiresAt     *time.Time
	InstanceURL   string
	Scope         string
	Status        string
	StatusReason  string
	// Metadata are token-response fields kept (e.g. instance_url).
	Metadata map[string]string
	// Params are connection parameters (e.g. shop, region).
	Params map[string]string
	// Version increments on every update (compare-and-swap).
	Version         int64
	LastRefreshedAt *time.Time
	FailureCount    int
	// NextRefreshAt schedules proactive refresh (providers without
	// expires_in) and cooldown after failures.
	NextRefreshAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// OAuthApp is a tenant's own OAuth client registration for a provider.
type OAuthApp struct {
	TenantID       string
	Provider       string
	ClientID       string
	ClientSecretCT []byte
	KeyID          string
	Scopes         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Execution statuses.
const (
	ExecPending   = "pending"
	ExecRunning   = "running"
	ExecSucceeded = "succeeded"
	ExecFailed    = "failed"
	// ExecUnknown: the call may have reached the provider but its outcome
	// was never recorded (the host died, or the database refused the
	// outcome for longer than the host kept trying). Terminal.
	ExecUnknown = "unknown"
)

// ExecSettled reports whether status is terminal.
func ExecSettled(status string) bool {
	return status == ExecSucceeded || status == ExecFailed || status == ExecUnknown
}

// Execution records one action run. It never holds credentials.
type Execution struct {
	ID             string
	TenantID       string
	UserID         string
	Provider       string
	Action         string
	Implementation string
	Status         string
	IdempotencyKey string
	// RequestHash fingerprints the request for idempotency checks.
	RequestHash string
	Input       []byte
	Output      []byte
	Error       string
	ErrorCode   string
	DurationMS  int64
	CreatedAt   time.Time
	// StartedAt is when the call (its latest attempt) started.
	StartedAt  *time.Time
	FinishedAt *time.Time
	// JobID is the River job of an asynchronous execution.
	JobID int64
}

// ExecutionFilter narrows ListExecutions.
type ExecutionFilter struct {
	Provider string
	Status   string
	Before   time.Time // created strictly before; zero = now
	Limit    int
}

// AuditEvent is a record of a security-relevant change.
type AuditEvent struct {
	ID        string
	TenantID  string
	Actor     string
	Action    string
	Target    string
	Details   []byte
	CreatedAt time.Time
}

// SecretRow addresses one encrypted value. Table, Column and RowID with
// the tenant and provider form the value's additional authenticated data.
type SecretRow struct {
	Table      string
	Column     string
	RowID      string
	TenantID   string
	Provider   string
	KeyID      string
	Ciphertext []byte
}

// Migration is one schema migration and its state.
type Migration struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Event is something a tenant is told about: by webhook delivery, cursor
// pull and stream. Its id stays the same across delivery attempts and
// replays, so receivers deduplicate on it.
type Event struct {
	ID       string
	TenantID string
	// Pos orders the tenant's events (the pull cursor); assigned on
	// insert, committed in order.
	Pos int64
	// Source is what emitted the event ("connection:<id>", a trigger
	// instance); Seq orders its events, from 1.
	Source    string
	Seq       int64
	Type      string
	Payload   []byte // JSON
	CreatedAt time.Time
}

// Delivery is one event's delivery to its tenant's webhook endpoint.
type Delivery struct {
	ID            string
	TenantID      string
	EventID       string
	Source        string
	Seq           int64
	State         string
	Attempts      int
	NextAttemptAt time.Time
	// LeaseUntil is set while an attempt is in flight.
	LeaseUntil *time.Time
	// LastStatus is the endpoint's last HTTP status (0: no answer);
	// LastError says why the last attempt failed, without secrets.
	LastStatus  int
	LastError   string
	DeliveredAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DeliveryRef points at one delivery.
type DeliveryRef struct {
	TenantID   string
	DeliveryID string
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	State string
	After string // delivery id; newest first below it when set
	Limit int
}

// MaxEventSource and MaxEventType bound events.source and events.type.
const (
	MaxEventSource = 200
	MaxEventType   = 100
)
