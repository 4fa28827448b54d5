package hosttest

import (
	"sync"
)

// LoadStats counts the outcomes of the executions of a Host.Load run. It
// is safe to read while the run goes on.
type LoadStats struct {
	mu       sync.Mutex
	ok       int64
	failures map[int][]string
}

// OK is the number of executions that succeeded so far.
func (s *LoadStats) OK() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok
}

// Failures returns the bodies of the failed executions by HTTP status; -1
// holds the errors of requests that got no response.
func (s *LoadStats) Failures() map[int][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int][]string, len(s.failures))
	for status, bodies := range s.failures {
		out[status] = append([]string(nil), bodies...)
	}
	return out
}

func (s *LoadStats) record(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 200 {
		s.ok++
		return
	}
	if s.failures == nil {
		s.failures = map[int][]string{}
	}
	s.failures[status] = append(s.failures[status], body)
}

// Load runs n clients executing provider's action with input as tenant tn,
// each one request after another, until stop is closed. Wait on the
// returned group after closing stop, then read the stats.
func (h *Host) Load(tn Tenant, n int, provider, action string, input any, stop <-chan struct{}) (*LoadStats, *sync.WaitGroup) {
	st := &LoadStats{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := h.Try("POST", "/api/v1/integrations/"+provider+"/actions/"+action, tn.Key, map[string]any{"input": input}, nil)
				switch {
				case err != nil:
					st.record(-1, err.Error())
				case r.Status != 200:
					st.record(r.Status, string(r.Body))
				default:
					st.record(200, "")
				}
			}
		})
	}
	return st, &wg
}
