package triggers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/vault"
)

// tagLog counts the polls of the benchpoll fixture plugin (GET /poll?tag=)
// and passes every other request to the triggers fake.
type tagLog struct {
	mu    sync.Mutex
	polls map[string]int
	next  http.Handler
}

func (l *tagLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/poll" {
		l.next.ServeHTTP(w, r)
		return
	}
	l.mu.Lock()
	l.polls[r.URL.Query().Get("tag")]++
	l.mu.Unlock()
	_, _ = w.Write([]byte("[]"))
}

// metricValue reads one sample of the host's /metrics (0 when absent).
func metricValue(h *hosttest.Host, sample string) float64 {
	h.T.Helper()
	body := string(h.Call("GET", "/metrics", "", nil, nil).Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestProviderPollBudget: with a budget of 2 polls per second for one
// provider ("triggers", six instances due every second), that provider's
// polls — counted by the fake, on both replicas together on PostgreSQL —
// stay within 2 × (seconds elapsed + 1), the polls over it are put off and
// still every instance is polled; another provider's instances (benchpoll,
// the default budget) are never put off and are polled far more often than
// the small budget would allow.
func TestProviderPollBudget(t *testing.T) {
	const budget, nTrig, nBench = 2, 6, 20
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			log := &tagLog{polls: map[string]int{}, next: fake}
			srv := httptest.NewServer(log)
			defer srv.Close()
			trig, bench := triggersBinary(t), testbin.Build(t, "host/internal/bench/testdata/benchpoll", "")
			keys, err := vault.Generate("k1")
			if err != nil {
				t.Fatal(err)
			}
			opts := func(o hosttest.Options) hosttest.Options {
				o.Backend, o.EncryptionKeys, o.Quiet = backend, keys, true
				o.Catalog = map[string]string{"triggers.json": fmt.Sprintf(descriptor, srv.URL),
					"benchpoll.json": `{"id":"benchpoll","name":"Bench poll","categories":["development"],"auth":{"kind":"api_key","credential_fields":["apiKey"]},
						"api":{"base_url":"` + srv.URL + `"},"implementations":["native"],"connectable":true}`}
				o.Prepare = func(dir string) {
					testbin.Install(t, trig, dir, plugindir.NativePrefix+"triggers", 0o755)
					testbin.Install(t, bench, dir, plugindir.NativePrefix+"benchpoll", 0o755)
				}
				o.Env = map[string]string{"ATOM_TRIGGER_MIN_INTERVAL": "1s", "ATOM_TRIGGER_DEFAULT_INTERVAL": "1s",
					"ATOM_TRIGGER_SCHEDULE_TICK": "200ms", "ATOM_TRIGGER_PROVIDER_RATES": "triggers:" + strconv.Itoa(budget)}
				return o
			}
			a := hosttest.Start(t, opts(hosttest.Options{}))
			hosts := []*hosttest.Host{a}
			if backend == "postgres" {
				hosts = append(hosts, hosttest.Start(t, opts(hosttest.Options{DatabaseURL: a.PG.AppURL, MigrateDatabaseURL: a.PG.OwnerURL})))
			}
			start := time.Now()
			for i := range nTrig {
				tn := a.NewTenant(fmt.Sprintf("t%d", i))
				a.Must(a.Call("POST", "/api/v1/connections/triggers", tn.Key, map[string]any{"api_key": fmt.Sprintf("sk_test_%d", i)}, nil), 201, nil)
				a.Must(a.Call("POST", "/api/v1/triggers", tn.Key, map[string]any{"provider": "triggers", "trigger": "new_item"}, nil), 201, nil)
			}
			tn := a.NewTenant("bench")
			a.Must(a.Call("POST", "/api/v1/connections/benchpoll", tn.Key, map[string]any{"api_key": "sk_bench"}, nil), 201, nil)
			for i := range nBench {
				a.Must(a.Call("POST", "/api/v1/triggers", tn.Key, map[string]any{"provider": "benchpoll", "trigger": "tick",
					"input": map[string]any{"tag": strconv.Itoa(i)}}, nil), 201, nil)
			}
			count := func() (trigTotal, trigMin, benchTotal, benchMin int) {
				fake.mu.Lock()
				trigMin = 1 << 30
				for i := range nTrig {
					c := fake.polls[fmt.Sprintf("sk_test_%d", i)]
					trigTotal, trigMin = trigTotal+c, min(trigMin, c)
				}
				fake.mu.Unlock()
				log.mu.Lock()
				benchMin = 1 << 30
				for i := range nBench {
					c := log.polls[strconv.Itoa(i)]
					benchTotal, benchMin = benchTotal+c, min(benchMin, c)
				}
				log.mu.Unlock()
				return
			}
			hosttest.WaitFor(t, 90*time.Second, "every instance of both providers polled three times", func() bool {
				_, tm, _, bm := count()
				return tm >= 3 && bm >= 3
			})
			// Counted after the window closes: a poll the fake logs later
			// started after it.
			elapsed := time.Since(start)
			trigTotal, _, benchTotal, _ := count()
			limit := int(budget * (elapsed.Seconds() + 1))
			t.Logf("%v: triggers polled %d times (budget allows %d), benchpoll %d times", elapsed.Round(time.Millisecond), trigTotal, limit, benchTotal)
			if trigTotal > limit {
				t.Fatalf("provider over its budget: %d polls in %v, at most %d allowed", trigTotal, elapsed, limit)
			}
			if benchTotal <= limit {
				t.Fatalf("the other provider was held to the small budget: %d polls in %v", benchTotal, elapsed)
			}
			var deferTrig, deferBench float64
			for _, h := range hosts {
				deferTrig += metricValue(h, `atom_trigger_polls_total{outcome="deferred",provider="triggers"}`)
				deferBench += metricValue(h, `atom_trigger_polls_total{outcome="deferred",provider="benchpoll"}`)
			}
			if deferTrig == 0 || deferBench != 0 {
				t.Fatalf("polls put off: triggers %v (want some), benchpoll %v (want none)", deferTrig, deferBench)
			}
		})
	}
}
