package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := Percentile(s, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty samples")
	}
	if got := Fmt(1500 * time.Microsecond); got != "1.50 ms" {
		t.Errorf("Fmt = %q", got)
	}
}

// TestGenericScenario runs one scenario end to end in quick mode: a real
// host in process on SQLite, a real fake upstream, the latency loops and
// the wrk runs.
func TestGenericScenario(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(context.Background(), Options{Root: root, Quick: true, Backend: "sqlite"}, []string{"generic"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Ours == "failed" || !strings.Contains(rows[2].Name, "throughput") || !strings.HasSuffix(rows[2].Ours, "req/s") {
		t.Fatalf("rows: %+v", rows)
	}
	md := Markdown(rows, "# x\n\n")
	if !strings.Contains(md, "-only generic") || !strings.Contains(md, "added latency p50") {
		t.Fatalf("markdown:\n%s", md)
	}
	if _, err := Run(context.Background(), Options{Root: root}, []string{"nope"}); err == nil {
		t.Fatal("unknown scenario accepted")
	}
}

// TestTriggerScenarios runs the trigger scenarios in quick mode on
// PostgreSQL: real replicas, the fixture plugins, the fakes; every
// accepted webhook is delivered and every instance polled.
func TestTriggerScenarios(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(context.Background(), Options{Root: root, Quick: true}, []string{"trigger-webhook", "trigger-poll"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("rows: %+v", rows)
	}
	for _, r := range rows {
		if r.Ours == "failed" {
			t.Fatalf("%s failed: %s", r.Scenario, r.Note)
		}
	}
	if !strings.Contains(rows[2].Note, " 0 not delivered") || !strings.HasSuffix(rows[2].Ours, "events/s") {
		t.Fatalf("throughput row: %+v", rows[2])
	}
	if !rows[3].Met || !strings.Contains(rows[3].Note, "0 instances never polled") {
		t.Fatalf("poll row: %+v", rows[3])
	}
}

// TestRuntimeScenarios runs, in quick mode on SQLite, the scenarios that
// start plugin processes and pieces in hosts of their own: each must
// still run to its rows (the sandboxed plugin reaching the sockets it is
// given, the fixtures' catalog descriptors), whatever its figures.
func TestRuntimeScenarios(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"native-egress", "wasm", "hotload", "memory"}
	rows, err := Run(context.Background(), Options{Root: root, Quick: true, Backend: "sqlite"}, ids)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Scenario] = true
		if r.Ours == "failed" {
			t.Errorf("%s failed: %s", r.Scenario, r.Note)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("no row of %s", id)
		}
	}
}

// TestScenarioCleanups: what a scenario registered ends when it ends,
// newest first, and what was there before it stays.
func TestScenarioCleanups(t *testing.T) {
	e, err := NewEnv(Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	e.onClose(func() { got = append(got, "run") })
	mark := e.cleanupCount()
	e.onClose(func() { got = append(got, "first") })
	e.onClose(func() { got = append(got, "second") })
	e.cleanupFrom(mark)
	if strings.Join(got, ",") != "second,first" {
		t.Fatalf("after the scenario: %v", got)
	}
	e.Close()
	if strings.Join(got, ",") != "second,first,run" {
		t.Fatalf("after Close: %v", got)
	}
}
