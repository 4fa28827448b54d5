package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// hostileReplies are upstream answers PostgreSQL's jsonb refuses or could
// misread (path → body).
var hostileReplies = map[string]string{
	"/nul":          `{"a":"x\u0000y"}`,
	"/nul-key":      `{"\u0000":1,"b":[{"\u0000\u0000":"\u0000"}]}`,
	"/high-surr":    `{"a":"\ud800"}`,
	"/low-surr":     `["\udc00x"]`,
	"/swapped-surr": `["\udc00\ud83d"]`,
	"/invalid-utf8": "{\"a\":\"\xff\xfe\"}",
	"/short-utf8":   "{\"a\":\"\xe2\x82\"}",
	"/exponent":     `{"n":1e-99999}`,
	"/long-number":  `{"n":` + string(bytes.Repeat([]byte("9"), 500)) + `}`,
	"/stand-in":     `{"$atom.raw":"eyJhIjoxfQ=="}`,
	"/controls":     `{"a":"\u0001\u001f\u007f"}`,
	"/nul-text":     "plain\x00text",
	"/binary":       "\x00\x01\x02\xff",
}

// TestAttackRecordLoss sends upstream replies the database could refuse
// through synchronous, idempotent (and replayed) and asynchronous calls on
// both backends. Each call answers 200 with the upstream body, and the
// stored record is finished with the very output the caller got: a record
// is never lost, left running or left pending because of its content.
func TestAttackRecordLoss(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := hostileReplies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	defer upstream.Close()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			h := startHost(t, hosttest.Options{Backend: backend, Timeout: 10 * time.Second})
			tn := h.NewTenant("record-loss")
			addHostileProvider(t, h, tn, upstream.URL)
			cases := 0
			for path := range hostileReplies {
				for _, mode := range []string{"sync", "idempotent", "async"} {
					cases++
					t.Run(mode+path, func(t *testing.T) {
						hdr := map[string]string{}
						if mode != "sync" {
							hdr["Idempotency-Key"] = mode + path
						}
						q := ""
						if mode == "async" {
							q = "?async=true"
						}
						in := map[string]any{"input": map[string]any{"method": "GET", "path": path}}
						r := h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call"+q, tn.Key, in, hdr)
						var res struct {
							ExecutionID string          `json:"execution_id"`
							Output      json.RawMessage `json:"output"`
						}
						if mode == "async" {
							must(t, r, http.StatusAccepted, &res)
						} else {
							must(t, r, http.StatusOK, &res)
						}
						rec := waitFinished(t, h, tn, res.ExecutionID)
						if rec.Status != "succeeded" {
							t.Fatalf("record %s: %s", rec.Status, rec.Raw)
						}
						if mode != "async" && !sameOutput(rec.Output, res.Output) {
							t.Fatalf("stored output differs from the answer:\nanswer %q\nstored %q", res.Output, rec.Output)
						}
						if mode == "idempotent" {
							again := h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call", tn.Key, in, hdr)
							var rep struct {
								Output json.RawMessage `json:"output"`
							}
							must(t, again, http.StatusOK, &rep)
							if again.Header.Get("Idempotent-Replayed") != "true" || !sameOutput(rep.Output, res.Output) {
								t.Fatalf("replay %q, first %q", rep.Output, res.Output)
							}
						}
					})
				}
			}
			if !t.Failed() {
				t.Logf("attack recordloss: %d cases on %s, 0 succeeded", cases, backend)
			}
		})
	}
}

// TestRecordWriteRefused makes the database refuse the record of a
// synchronous call (the host's role loses INSERT on executions): the call
// ran, so it answers its outcome, but says the record is not stored
// (Atom-Record-Stored: false, "record_stored": false) and the id is indeed
// unknown; a call with an Idempotency-Key, whose record must exist before
// the call, is refused (503 record_failed) without calling the upstream.
func TestRecordWriteRefused(t *testing.T) {
	storetest.RequirePostgres(t)
	var calls atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer upstream.Close()
	h := startHost(t, hosttest.Options{Backend: "postgres"})
	tn := h.NewTenant("refused")
	addHostileProvider(t, h, tn, upstream.URL)
	in := map[string]any{"input": map[string]any{"method": "GET", "path": "/ok"}}
	h.Must(h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call", tn.Key, in, nil), 200, nil)

	ctx := context.Background()
	owner, err := pgx.Connect(ctx, h.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `REVOKE INSERT ON executions FROM `+pgx.Identifier{h.PG.AppRole}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	r := h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call", tn.Key, in, nil)
	var body struct {
		ExecutionID  string `json:"execution_id"`
		RecordStored *bool  `json:"record_stored"`
	}
	r.JSON(t, &body)
	if r.Status != http.StatusOK || r.Header.Get("Atom-Record-Stored") != "false" || body.RecordStored == nil || *body.RecordStored {
		t.Fatalf("a call whose record was refused answered %d %v %s", r.Status, r.Header, r.Body)
	}
	if g := h.Call("GET", "/api/v1/executions/"+body.ExecutionID, tn.Key, nil, nil); g.Status != http.StatusNotFound {
		t.Fatalf("the unstored execution is found: %d %s", g.Status, g.Body)
	}
	before := calls.Load()
	r = h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call", tn.Key, in, map[string]string{"Idempotency-Key": "refused-1"})
	if code, _ := r.ErrorCode(); r.Status != http.StatusServiceUnavailable || code != "record_failed" {
		t.Fatalf("a keyed call whose record was refused answered %d %s", r.Status, r.Body)
	}
	r = h.Call("POST", "/api/v1/integrations/hostile/actions/custom_api_call?async=true", tn.Key, in, nil)
	if code, _ := r.ErrorCode(); r.Status != http.StatusServiceUnavailable || (code != "record_failed" && code != "queue_unavailable") {
		t.Fatalf("an async call whose record was refused answered %d %s", r.Status, r.Body)
	}
	if n := calls.Load() - before; n != 0 {
		t.Fatalf("calls refused before they ran reached the upstream %d times", n)
	}
}

// addHostileProvider adds a descriptor without auth whose base URL is
// base, and waits until the catalog serves it to tn.
func addHostileProvider(t *testing.T, h *host, tn hosttest.Tenant, base string) {
	t.Helper()
	desc := fmt.Sprintf(`{"id":"hostile","name":"Hostile","categories":["development"],"auth":{"kind":"none"},
		"api":{"base_url":%q},"implementations":["generic"],"connectable":true}`, base)
	if err := os.WriteFile(filepath.Join(h.Catalog, "hostile.json"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	// The host starts with a fixture descriptor of the same id: wait for
	// this one (its base URL), not just for any.
	hosttest.WaitFor(t, 10*time.Second, "the hostile descriptor", func() bool {
		r := h.Call("GET", "/api/v1/catalog/hostile", tn.Key, nil, nil)
		return r.Status == 200 && strings.Contains(string(r.Body), base)
	})
}

// sameOutput reports whether stored is the answer byte for byte or, when
// jsonb holds the answer as it means, the same JSON in jsonb's normal
// form (key order, escapes). An answer jsonb cannot hold must come back
// byte for byte.
func sameOutput(stored, answer json.RawMessage) bool {
	if bytes.Equal(stored, answer) {
		return true
	}
	if !sqlcore.JSONBSafe(answer) {
		return false
	}
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader(stored)), json.NewDecoder(bytes.NewReader(answer))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&a) == nil && db.Decode(&b) == nil && reflect.DeepEqual(a, b)
}

// must fails t (not the host's test: t may be a subtest) unless r has
// status, and decodes r's body into v.
func must(t *testing.T, r hosttest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %.300s", r.Status, status, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %.300s: %v", r.Body, err)
	}
}

// record is an execution as GET /api/v1/executions/{id} shows it.
type record struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Raw    []byte          `json:"-"`
}

// waitFinished polls the execution until it is neither pending nor
// running.
func waitFinished(t *testing.T, h *host, tn hosttest.Tenant, id string) record {
	t.Helper()
	var rec record
	hosttest.WaitFor(t, 30*time.Second, "execution "+id+" to finish", func() bool {
		r := h.Call("GET", "/api/v1/executions/"+id, tn.Key, nil, nil)
		must(t, r, 200, &rec)
		rec.Raw = r.Body
		return rec.Status != "pending" && rec.Status != "running"
	})
	return rec
}

// TestAttackConcurrentMigrate starts four replicas' migrations at once on
// a fresh database, five rounds, on both backends: all succeed, and the
// host's role can then use the database.
func TestAttackConcurrentMigrate(t *testing.T) {
	const rounds, replicas = 5, 4
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			cases := 0
			for round := 0; round < rounds; round++ {
				var cfg config.Config
				if backend == "postgres" {
					pg := storetest.NewPostgres(t)
					cfg.DatabaseURL, cfg.MigrateDatabaseURL = pg.AppURL, pg.OwnerURL
				} else {
					cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "atom.db")
					cfg.MigrateDatabaseURL = cfg.DatabaseURL
				}
				ctx := context.Background()
				errs := make(chan error, replicas)
				for i := 0; i < replicas; i++ {
					go func() {
						st, err := app.OpenStore(ctx, cfg)
						if err != nil {
							errs <- err
							return
						}
						defer st.Close()
						_, err = app.Migrate(ctx, cfg, st)
						errs <- err
					}()
				}
				for i := 0; i < replicas; i++ {
					cases++
					if err := <-errs; err != nil {
						t.Errorf("round %d: a replica's migration failed: %v", round, err)
					}
				}
				st, err := app.OpenStore(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				tenant := storetest.NewTenant(t, st) // the host's role can write
				if ids, err := st.TenantIDs(ctx); err != nil || len(ids) != 1 || ids[0] != tenant {
					t.Errorf("round %d: tenants %v, %v", round, ids, err)
				}
				st.Close()
			}
			if !t.Failed() {
				t.Logf("attack races: %d cases on %s, 0 succeeded", cases, backend)
			}
		})
	}
}
