package outbound

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts and times the requests a Client sends, by the provider
// of the request's Scope ("" without one), whoever made them: a native
// plugin through the host, a piece, the generic custom API call.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atom_outbound_requests_total",
			Help: "Outbound requests to providers by provider and outcome (status class, rate_limited, address_forbidden, error).",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atom_outbound_request_duration_seconds",
			Help:    "Outbound request duration by provider, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"provider"}),
	}
	if err := reg.Register(m.requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			m.requests = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	if err := reg.Register(m.duration); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
		}
	}
	return m
}

// observe records one request sent (or refused) under ctx's scope.
func (m *metrics) observe(ctx context.Context, start time.Time, resp *http.Response, err error) {
	if m == nil {
		return
	}
	k, _ := ctx.Value(scopeCtxKey{}).(scopeKey)
	outcome := "error"
	switch {
	case errors.Is(err, ErrRateLimited):
		outcome = "rate_limited"
	case errors.Is(err, ErrForbiddenAddress):
		outcome = "address_forbidden"
	case err == nil && resp != nil:
		outcome = strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	m.requests.WithLabelValues(k.provider, outcome).Inc()
	if outcome != "rate_limited" {
		m.duration.WithLabelValues(k.provider).Observe(time.Since(start).Seconds())
	}
}
