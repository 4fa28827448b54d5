package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics: every request is counted by its scope's provider and its
// outcome, refusals included.
func TestMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 0.1, Burst: 3, Metrics: reg}) // a token per 10 s: longer than the wait budget
	defer c.Close()
	ctx := Scope(context.Background(), "tenant-1", "acme")
	send := func(u string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := c.Do(ctx, req); err == nil {
			resp.Body.Close()
		}
	}
	send(srv.URL + "/ok")
	send(srv.URL + "/missing")
	send("http://10.0.0.1/")
	send(srv.URL + "/limited") // the burst of 3 is spent
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "atom_outbound_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == "acme" {
				got[labels["outcome"]] = m.GetCounter().GetValue()
			}
		}
	}
	for outcome, n := range map[string]float64{"2xx": 1, "4xx": 1, "address_forbidden": 1, "rate_limited": 1} {
		if got[outcome] != n {
			t.Errorf("outcome %s: %v requests, want %v (all: %v)", outcome, got[outcome], n, got)
		}
	}
	// A second client on the same registry shares the collectors.
	c2 := New(Config{Metrics: reg})
	defer c2.Close()
	if c2.metrics.requests != c.metrics.requests {
		t.Fatal("a second client registered its own counter")
	}
}
