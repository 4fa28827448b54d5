package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// hookLimited counts provider webhook requests refused by the
	// per-hook rate limit, by route.
	hookLimited *prometheus.CounterVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atom_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "atom_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		hookLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atom_hook_requests_rate_limited_total", Help: "Provider webhook requests refused with 429 by the per-hook rate limit (ATOM_HOOK_RATE_LIMIT), by route.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, m.hookLimited)
	return m
}

// observe logs one line per request and records metrics. It logs the
// path without its query string: callbacks carry codes and states there.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			c.Status(500)
		}
	}
	status := c.Response().StatusCode()
	route := s.routeOf(c)
	elapsed := time.Since(start)
	method := methodLabel(c.Method())
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
	if route == "/healthz" || route == "/metrics" || route == "/readyz" {
		return nil
	}
	if !s.log.Enabled(c.UserContext(), slog.LevelInfo) {
		// The line would be dropped: its attributes are not built.
		return nil
	}
	attrs := []any{"request_id", requestID(c), "method", c.Method(), "path", c.Path(), "route", route,
		"status", status, "duration_ms", float64(elapsed.Microseconds()) / 1000}
	if p := principalOf(c); p != nil {
		attrs = append(attrs, "tenant_id", p.TenantID)
	}
	s.log.Info("request", attrs...)
	return nil
}

// requestIDOK is what a client-sent X-Request-Id must look like to be
// kept (a proxy's trace id); anything else is replaced, so log lines and
// error bodies carry no client-chosen text.
var requestIDOK = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)

// assignRequestID gives the request its id, echoed in X-Request-Id, the
// log line and every error body.
func assignRequestID(c *fiber.Ctx) error {
	rid := c.Get(fiber.HeaderXRequestID)
	if !requestIDOK.MatchString(rid) {
		rid = newRequestID()
	}
	c.Set(fiber.HeaderXRequestID, rid)
	c.Locals("requestid", rid)
	return c.Next()
}

// methodLabel maps a request method to a constant, so the label a metric
// keeps never shares memory with a request and takes a bounded set of
// values.
func methodLabel(m string) string {
	for _, known := range fiber.DefaultMethods {
		if m == known {
			return known
		}
	}
	return "OTHER"
}

// knownMethods answers a request whose method is none of Fiber's with 405
// in the API's JSON error shape; Fiber itself would answer plain text
// before any middleware runs.
func knownMethods[C interface {
	Method() []byte
	SetStatusCode(int)
	SetContentType(string)
	SetBodyString(string)
	SetConnectionClose()
}](next func(C)) func(C) {
	return func(ctx C) {
		if methodLabel(string(ctx.Method())) != "OTHER" {
			next(ctx)
			return
		}
		body, _ := json.Marshal(errorBody{Error: errorDetail{Code: "method_not_allowed",
			Message: "unknown HTTP method: use " + strings.Join(fiber.DefaultMethods, ", "), RequestID: newRequestID()}})
		ctx.SetStatusCode(http.StatusMethodNotAllowed)
		ctx.SetContentType(fiber.MIMEApplicationJSON)
		ctx.SetBodyString(string(body))
		ctx.SetConnectionClose()
	}
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}
