// Package api is Atom's HTTP surface: the spec's integration routes, the
// REST v1 API for tenants, the admin API and operational endpoints, on
// Fiber. Handlers are thin: they authenticate, decode, call the service
// packages and encode. Every error leaves as one JSON shape,
// {"error":{"code","message","request_id"}}, whose request id matches the
// log line.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/ratelimit"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

// Deps are the services the API serves. Store, Keyring, Catalog and
// Logger are required; the others enable their routes when set.
type Deps struct {
	Config  config.Config
	Store   store.Store
	Keyring *vault.Keyring
	// Catalog returns the current catalog snapshot (it changes when
	// custom descriptors change).
	Catalog func() *catalog.Catalog
	Connect *connect.Service
	// Webhooks manages tenant webhook URLs.
	Webhooks *webhook.Sender
	// Exec runs executions; the execution routes are served when set.
	Exec *engine.Engine
	// Triggers runs trigger instances; the trigger and hook routes are
	// served when set.
	Triggers *triggers.Engine
	Plugins  PluginAdmin
	// Demo serves /demo/ in the development setup.
	Demo   http.Handler
	Web    WebUI
	Logger *slog.Logger
	// Registry receives the HTTP metrics; nil creates a new one.
	Registry *prometheus.Registry
	// Version is reported by /healthz.
	Version string
	// PluginsLoading lists the native plugins whose first load at start
	// has not finished; /readyz reports them (it stays ready: a request
	// for one of them waits for its load).
	PluginsLoading func() []string
}

// Server is the HTTP app.
type Server struct {
	deps    Deps
	app     *fiber.App
	log     *slog.Logger
	metrics *httpMetrics
	limiter *ratelimit.Keyed[string]
	// hookLimiter keeps one bucket per hook URL (ATOM_HOOK_RATE_LIMIT).
	hookLimiter *ratelimit.Keyed[string]
	// hookMisses keeps one bucket per client address, taken from by each
	// of its hook requests answered 404 (the same rate).
	hookMisses *ratelimit.Keyed[string]
	ready      atomic.Bool
	probe      readiness
	// guards maps "METHOD /path" of every route to its guard; paths holds
	// the registered paths (the only values the route metric label takes).
	guards map[string]Guard
	paths  map[string]bool
}

// New builds the Fiber app with every route.
//
// Routing is case-sensitive and strict (a trailing slash is a different
// path) and matches the raw path: /api/v1/Tenants, /api/v1/tenants/,
// /api/v1/%74enants and /api//v1/tenants are no route at all, so no path
// reaches a handler under a guard other than its route's own. The app is
// Immutable: every string Fiber hands out (method, path, params, headers)
// is a copy that stays valid after the request, since metric labels,
// limiter keys and logs keep them. Bodies are streamed: the transport
// reads headers and at most a few kilobytes, the route's guard runs, and
// only then is the body read, up to the route's limit.
func New(d Deps) *Server {
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{deps: d, log: d.Logger, metrics: newHTTPMetrics(d.Registry),
		limiter:     newKeyedLimiter(d.Config.TenantRateLimit, d.Config.TenantRateBurst),
		hookLimiter: newKeyedLimiter(d.Config.HookRateLimit, d.Config.HookRateBurst),
		hookMisses:  newKeyedLimiter(d.Config.HookRateLimit, d.Config.HookRateBurst),
		guards:      map[string]Guard{}, paths: map[string]bool{}}
	s.app = fiber.New(fiber.Config{
		AppName:       "atom",
		CaseSensitive: true,
		StrictRouting: true,
		Immutable:     true,
		// The transport never buffers a whole body: limitBody reads it
		// after the guard, up to ATOM_BODY_LIMIT (ATOM_PLUGIN_UPLOAD_LIMIT
		// on the admin upload route).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    max(s.bodyLimit(), s.uploadLimit()),
		DisableStartupMessage:        true,
		ErrorHandler:                 s.handleError,
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 120 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               16 << 10,
	})
	srv := s.app.Server()
	srv.Handler = knownMethods(srv.Handler)
	s.app.Use(s.finishBody)
	s.app.Use(assignRequestID)
	s.app.Use(s.recoverPanics)
	s.app.Use(s.observe)
	s.ready.Store(true)
	s.routes()
	return s
}

// App exposes the Fiber app (for tests with app.Test and for Listen).
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until ctx ends, then shuts down gracefully,
// letting in-flight requests finish within timeout.
func (s *Server) Listen(ctx context.Context, addr string, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listen(addr) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.log.Info("shutting down", "timeout", timeout.String())
	if err := s.app.ShutdownWithTimeout(timeout); err != nil {
		return err
	}
	return <-errc
}

// detach gives a net/http handler a request whose strings it owns. Fiber's
// adaptor builds requests over fasthttp's reused buffers, so a handler
// that keeps a value (the demo keeps PKCE challenges and states) would
// see it overwritten by a later request.
func detach(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		u := *r.URL
		u.Path = strings.Clone(u.Path)
		u.RawPath = strings.Clone(u.RawPath)
		u.RawQuery = strings.Clone(u.RawQuery)
		r2.URL = &u
		r2.Host = strings.Clone(r.Host)
		r2.RequestURI = strings.Clone(r.RequestURI)
		r2.RemoteAddr = strings.Clone(r.RemoteAddr)
		r2.Header = make(http.Header, len(r.Header))
		for k, vs := range r.Header {
			cp := make([]string, len(vs))
			for i, v := range vs {
				cp[i] = strings.Clone(v)
			}
			r2.Header[strings.Clone(k)] = cp
		}
		h.ServeHTTP(w, r2)
	})
}

// routes registers every route through a Router of its guard; nothing is
// decided by matching path strings.
func (s *Server) routes() {
	pub := s.router(GuardPublic, "", s.bodyLimit())
	pub.Get("/healthz", s.healthz)
	pub.Get("/readyz", s.readyz)
	pub.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{})))
	pub.Get("/openapi.json", s.openAPI)
	if s.deps.Demo != nil {
		pub.All("/demo/*", adaptor.HTTPHandler(detach(s.deps.Demo)))
	}

	admin := s.router(GuardAdmin, "/api/v1", s.bodyLimit(), s.requireAdmin)
	admin.Post("/tenants", s.createTenant)
	admin.Post("/tenants/:id/api-keys", s.createAPIKey)
	admin.Delete("/tenants/:id/api-keys/:keyId", s.revokeAPIKey)
	admin.Get("/tenants/:id/api-keys", s.listAPIKeys)
	if s.deps.Plugins != nil {
		admin.Get("/admin/plugins", s.listPlugins)
		admin.Uploads().Put("/admin/plugins/:id", s.putPlugin)
		admin.Get("/admin/pieces", s.listJSPieces)
		admin.Uploads().Post("/admin/pieces", s.addJSPiece)
		admin.Delete("/admin/pieces/:id", s.removeJSPiece)
	}

	callback := s.router(GuardOAuthState, "/api", s.bodyLimit(), s.requireState)
	callback.Get("/integrations/:provider/callback", s.oauthCallback)

	var chain []fiber.Handler
	if s.deps.Web != nil {
		// Cookie-authenticated calls from the page must carry its CSRF
		// token; the page's guard answers 403 before authentication.
		chain = append(chain, s.deps.Web.Guard)
	}
	chain = append(chain, s.requireTenant, s.rateLimit)
	tenant := s.router(GuardTenant, "/api", s.bodyLimit(), chain...)
	tenant.Get("/v1/me", s.me)
	tenant.Get("/integrations/status", s.integrationsStatus)
	tenant.Get("/integrations/:provider", s.integrationAction)
	tenant.Get("/v1/catalog", s.catalogList)
	tenant.Get("/v1/catalog/categories", s.catalogCategories)
	tenant.Get("/v1/catalog/schema", s.catalogSchema)
	tenant.Get("/v1/catalog/:id", s.catalogGet)
	s.connectionRoutes(tenant)
	s.eventRoutes(tenant)
	if s.deps.Exec != nil {
		s.executionRoutes(tenant)
	}
	if s.deps.Triggers != nil {
		s.triggerRoutes(tenant)
		s.hookRoutes(s.router(GuardHook, "/api", s.bodyLimit(), s.hookRateLimit))
	}
	if s.deps.Web != nil {
		s.deps.Web.Mount(pub)
	}
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": s.deps.Version})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if !s.ready.Load() {
		return apiErr(http.StatusServiceUnavailable, "shutting_down", "the host is shutting down")
	}
	if err := s.probe.check(c.UserContext(), s.deps.Store, s.log); err != nil {
		return err
	}
	body := fiber.Map{"status": "ready", "database": s.deps.Store.Backend()}
	if s.deps.PluginsLoading != nil {
		if ids := s.deps.PluginsLoading(); len(ids) > 0 {
			body["plugins_loading"] = ids
		}
	}
	return c.JSON(body)
}

// Error is an API error with an HTTP status, a short code and, for
// invalid input, the field at fault (a JSON pointer into the input).
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Field     string `json:"field,omitempty"`
}

func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status, code, msg, field := http.StatusInternalServerError, "internal", "internal error", ""
	var ae *Error
	var fe *fiber.Error
	var ce *connect.Error
	switch {
	case errors.As(err, &ae):
		status, code, msg, field = ae.Status, ae.Code, ae.Message, ae.Field
	case errors.As(err, &ce):
		// The one code → status table answers connection errors as it
		// answers executions' (TestConnectStatusesMatchTable keeps the
		// statuses connect sets equal to it).
		status, code, msg = engine.StatusOf(ce.Code), ce.Code, ce.Message()
	case errors.As(err, &fe):
		status, msg = fe.Code, fe.Message
		code = codeForStatus(fe.Code)
		if fe.Code == http.StatusNotFound && s.routeOf(c) == "unmatched" {
			msg = "no route for " + c.Method() + " " + c.Path()
		}
		if fe.Code == http.StatusRequestEntityTooLarge {
			msg = "request body exceeds the limit of " + strconv.Itoa(s.bodyLimit()) + " bytes (ATOM_BODY_LIMIT)"
		}
	case errors.Is(err, context.DeadlineExceeded):
		status, code, msg = http.StatusGatewayTimeout, "timeout", "the request timed out"
	case errors.Is(err, store.ErrInvalid):
		// A value the database cannot keep is the input's fault.
		status, code, msg = http.StatusBadRequest, "invalid_input", "invalid input"
		var ie *store.InvalidError
		if errors.As(err, &ie) {
			msg = ie.Error()
		}
	case store.Unavailable(err):
		// The database is down, restarting, read-only or locked: the
		// request was fine and may succeed in a moment.
		status, code, msg = http.StatusServiceUnavailable, "database_unavailable", "the database is unavailable; retry shortly"
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	rid := requestID(c)
	if status >= 500 {
		s.log.Error("request failed", "request_id", rid, "method", c.Method(), "route", s.routeOf(c), "err", err.Error())
	}
	return c.Status(status).JSON(errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: rid, Field: field}})
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return ""
}

// routeOf is the route pattern the request matched, or "unmatched"; it
// only ever returns a registered path, never one the client sent.
func (s *Server) routeOf(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && s.paths[r.Path] {
		return r.Path
	}
	return "unmatched"
}

func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "request_id", requestID(c), "route", s.routeOf(c), "panic", r)
			err = apiErr(http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	return c.Next()
}
