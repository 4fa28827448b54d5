package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest/ports"
)

func TestOperationalEndpoints(t *testing.T) {
	h := newHost(t, backends()[0], newKeys(t, "k1"), func(c *config.Config) { c.BodyLimit = 1024 })
	app := h.Server.App()
	get := func(path string) (*http.Response, string) {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil), 5000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/healthz"); resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("/readyz"); resp.StatusCode != 200 || !strings.Contains(body, "sqlite") {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	resp, body := get("/nope")
	var e struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != 404 || e.Error.Code != "not_found" || e.Error.RequestID == "" || resp.Header.Get("X-Request-Id") != e.Error.RequestID {
		t.Fatalf("404 shape: %d %s (header %q)", resp.StatusCode, body, resp.Header.Get("X-Request-Id"))
	}
	big := strings.NewReader(`{"name":"` + strings.Repeat("x", 4096) + `"}`)
	req := httptest.NewRequest("POST", "/api/v1/tenants", big)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "body_too_large") {
		t.Fatalf("body limit: %d %s", resp.StatusCode, b)
	}
	if resp, body := get("/metrics"); resp.StatusCode != 200 || !strings.Contains(body, "atom_http_requests_total") {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
}

// TestGracefulShutdown starts the server on a port, begins a slow
// request, cancels the server's context and checks the request finishes.
func TestGracefulShutdown(t *testing.T) {
	h := newHost(t, backends()[0], newKeys(t, "k1"), nil)
	started := make(chan struct{})
	h.Server.App().Get("/test/slow", func(c *fiber.Ctx) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return c.SendString("finished")
	})
	addr := "127.0.0.1:" + strconv.Itoa(ports.Must(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Server.Listen(ctx, addr, 5*time.Second) }()
	var (
		resp *http.Response
		err  error
	)
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/test/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	cancel()
	if got := <-result; got != "finished" {
		t.Fatalf("in-flight request during shutdown: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}
