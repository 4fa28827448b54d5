package faults

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
)

// TestUpstreamReplyMemory sends 16 concurrent calls whose provider
// answers 10 MiB of control characters (valid UTF-8 that a JSON encoder
// escapes as \u0001, six bytes each) and measures the host's peak heap
// and peak resident memory. The cap is raised to 16 MiB so the replies
// are encoded, not refused. The peak heap must stay within 30 MiB per
// call (reply, base64 output, response), far below the six-fold JSON
// escapes.
func TestUpstreamReplyMemory(t *testing.T) {
	const n, calls = 10 << 20, 16
	payload := bytes.Repeat([]byte{1}, n)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(payload)
	}))
	defer up.Close()
	cat := map[string]string{"bnd.json": `{"id":"bnd","name":"Bounds","categories":["development"],"auth":{"kind":"none"},
 "api":{"base_url":"` + up.URL + `/api"},"implementations":["generic"],"connectable":true}`}
	h := hosttest.Start(t, hosttest.Options{Catalog: cat, Timeout: 60 * time.Second,
		Configure: func(c *config.Config) { c.RateLimit = -1; c.Limits.MaxUpstreamBody = 16 << 20 }})
	tn := h.NewTenant("mem")
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	sizes := make([]int64, calls)
	statuses := make([]int, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", h.URL+"/api/v1/integrations/bnd/actions/custom_api_call",
				strings.NewReader(`{"input":{"method":"GET","path":"/bin"}}`))
			req.Header.Set("Authorization", "Bearer "+tn.Key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hosttest.Client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			statuses[i] = resp.StatusCode
			sizes[i], _ = io.Copy(io.Discard, resp.Body)
		}(i)
	}
	wg.Wait()
	close(stop)
	<-sampled
	hwm := ""
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				hwm = strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
			}
		}
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("16 concurrent 10 MiB replies: statuses %v, reply bytes %d each; peak heap in use %d MiB above the %d MiB baseline; VmHWM %s",
		statuses, sizes[0], growth>>20, base.HeapInuse>>20, hwm)
	for i := range sizes {
		if statuses[i] != 200 || sizes[i] > n*4/3+4096 {
			t.Errorf("call %d: status %d, %d-byte reply", i, statuses[i], sizes[i])
		}
	}
	if limit := int64(calls * 30 << 20); growth > limit {
		t.Errorf("peak heap grew by %d MiB, over %d MiB", growth>>20, limit>>20)
	}
}
