// Command hostile is a test piece that attacks the host through the piece
// ABI itself rather than through the guest SDK: it exports the ABI by hand
// so that its manifest can misbehave. What it does is chosen at build time:
//
//	-X main.id=<id>      the id its manifest declares (default "hostile")
//	-X main.alt=<id>     the id declared by every later atom_manifest call
//	                     and after the first execution (mode "flip")
//	-X main.mode=<mode>  "" (well-behaved manifest), "flip", "hang" (the
//	                     manifest never returns), "inithang" (module init
//	                     never returns), "bigmanifest" (a manifest of
//	                     -X main.size bytes)
//
// Its actions: echo, big (an output of input.mib MiB), flood (input.keys
// store keys of input.bytes bytes each), logflood (input.lines log lines
// of input.bytes bytes), sleep (until the deadline), manifest_calls (how
// many times this instance answered atom_manifest), http (a GET of
// input.url; its manifest declares 127.0.0.1 as well as allowed.test).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hostile.wasm ./host/internal/runtimes/wasm/testdata/hostile
package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

var (
	id   = "hostile"
	alt  = "stripe"
	mode = ""
	size = "4194304"
)

var (
	manifestCalls int
	executed      bool
	held          = map[uint32][]byte{}
	last          []byte
)

func init() {
	if mode == "inithang" {
		for {
			time.Sleep(time.Millisecond)
		}
	}
}

//go:wasmimport atom store_put
func hostStorePut(keyPtr, keyLen, valPtr, valLen uint32) int32

//go:wasmimport atom http_request
func hostHTTPRequest(reqPtr, reqLen, outPtr, outCap uint32) int32

//go:wasmimport atom result_read
func hostResultRead(outPtr, outCap uint32) int32

//go:wasmimport atom log
func hostLog(level, msgPtr, msgLen uint32)

func ptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func pack(b []byte) uint64 {
	last = b
	return uint64(ptr(b))<<32 | uint64(len(b))
}

//go:wasmexport atom_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport atom_alloc
func alloc(n uint32) uint32 {
	b := make([]byte, max(n, 1))
	p := ptr(b)
	held[p] = b
	return p
}

//go:wasmexport atom_free
func free(p, _ uint32) { delete(held, p) }

type action struct {
	Name string `json:"name"`
}

type manifest struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Description string   `json:"description,omitempty"`
	ABI         int      `json:"abi"`
	Hosts       []string `json:"hosts"`
	Actions     []action `json:"actions"`
}

//go:wasmexport atom_manifest
func exportManifest() uint64 {
	manifestCalls++
	switch mode {
	case "hang":
		for {
			time.Sleep(time.Millisecond)
		}
	}
	m := manifest{ID: id, Name: "Hostile " + id, Version: "1.0.0", ABI: 1, Hosts: []string{"allowed.test", "127.0.0.1"}}
	if mode == "flip" && (manifestCalls > 1 || executed) {
		m.ID = alt
	}
	if mode == "bigmanifest" {
		n, _ := strconv.Atoi(size)
		m.Description = strings.Repeat("x", n)
	}
	for _, a := range []string{"echo", "big", "flood", "logflood", "sleep", "manifest_calls", "http"} {
		m.Actions = append(m.Actions, action{Name: a})
	}
	b, _ := json.Marshal(m)
	return pack(b)
}

type request struct {
	TenantID string `json:"tenant_id"`
	Action   string `json:"action"`
	Input    struct {
		MiB   int    `json:"mib"`
		Keys  int    `json:"keys"`
		Bytes int    `json:"bytes"`
		Lines int    `json:"lines"`
		URL   string `json:"url"`
	} `json:"input"`
}

func respond(out any, failure string) uint64 {
	r := map[string]any{}
	if failure != "" {
		r["diagnostics"] = []map[string]string{{"severity": "error", "summary": failure}}
	} else {
		o, _ := json.Marshal(out)
		r["output"] = json.RawMessage(o)
	}
	b, _ := json.Marshal(r)
	return pack(b)
}

//go:wasmexport atom_execute
func execute(p, n uint32) uint64 {
	executed = true
	var req request
	if err := json.Unmarshal(held[p][:n], &req); err != nil {
		return respond(nil, "bad request: "+err.Error())
	}
	delete(held, p)
	switch req.Action {
	case "echo":
		return respond(map[string]any{"ok": true, "id": id, "tenant": req.TenantID}, "")
	case "big":
		// A raw result: the host must refuse it by its size, before it
		// decodes or copies it.
		return pack(bytes.Repeat([]byte("x"), req.Input.MiB<<20))
	case "flood":
		val := make([]byte, req.Input.Bytes)
		stored, status := 0, int32(0)
		for i := 0; i < req.Input.Keys; i++ {
			key := []byte("flood-" + strconv.Itoa(i))
			if st := hostStorePut(ptr(key), uint32(len(key)), ptr(val), uint32(len(val))); st != 0 {
				status = st
				break
			}
			stored++
		}
		return respond(map[string]any{"stored": stored, "status": status}, "")
	case "logflood":
		line := []byte(strings.Repeat("l", req.Input.Bytes))
		for i := 0; i < req.Input.Lines; i++ {
			hostLog(1, ptr(line), uint32(len(line)))
		}
		return respond(map[string]any{"lines": req.Input.Lines}, "")
	case "sleep":
		time.Sleep(time.Hour)
		return respond(nil, "woke up")
	case "http":
		in, _ := json.Marshal(map[string]string{"method": "GET", "url": req.Input.URL})
		out := make([]byte, 64<<10)
		n := hostHTTPRequest(ptr(in), uint32(len(in)), ptr(out), uint32(len(out)))
		if n < 0 {
			msg := make([]byte, max(hostResultRead(0, 0), 0))
			hostResultRead(ptr(msg), uint32(len(msg)))
			return respond(map[string]any{"status": n, "error": json.RawMessage(msg)}, "")
		}
		var resp struct {
			Status int `json:"status"`
		}
		json.Unmarshal(out[:min(int(n), len(out))], &resp)
		return respond(map[string]any{"http_status": resp.Status}, "")
	case "manifest_calls":
		return respond(map[string]any{"calls": manifestCalls}, "")
	}
	return respond(nil, "unknown action "+req.Action)
}

func main() {}
