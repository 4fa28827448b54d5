package jspiece

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
)

// randReader is crypto randomness for the guest.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }

type callKey struct{}

// callState binds host calls to one execution; outside a call (while a
// bundle loads) fetch and the store are refused.
type callState struct {
	piece    *Piece
	tenant   string
	host     hostrt.Host
	baseHost string
	deadline time.Time
	fetches  int
	logs     int
	logBytes int
	dropped  int
	pending  []byte
	// noEgress refuses every fetch of the call.
	noEgress bool
}

// Bounds of what one call may log; the rest is dropped and counted.
const (
	maxLogLines = 100
	maxLogBytes = 64 << 10
)

func state(ctx context.Context) *callState {
	st, _ := ctx.Value(callKey{}).(*callState)
	return st
}

type hostOp struct {
	Op         string              `json:"op"`
	URL        string              `json:"url"`
	Method     string              `json:"method"`
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body"`
	BodyBase64 string              `json:"body_base64"`
	Redirect   string              `json:"redirect"`
	MS         float64             `json:"ms"`
	N          float64             `json:"n"`
	Key        string              `json:"key"`
	Level      string              `json:"level"`
	Msg        string              `json:"msg"`
	Value      string              `json:"value"`
	Alg        string              `json:"alg"`
	DataBase64 string              `json:"data_b64"`
	KeyBase64  *string             `json:"key_b64"`
}

type hostErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errAnswer(code, format string, args ...any) []byte {
	b, _ := json.Marshal(map[string]any{"error": hostErr{code, fmt.Sprintf(format, args...)}})
	return b
}

// instantiateHost defines module "atom_js": host_call and host_read.
func (r *Runtime) instantiateHost(ctx context.Context) error {
	i32 := api.ValueTypeI32
	_, err := r.rt.NewHostModuleBuilder("atom_js").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		in, ok := m.Memory().Read(uint32(s[0]), uint32(s[1]))
		var out []byte
		st := state(ctx)
		switch {
		case !ok:
			out = errAnswer("invalid_request", "request out of bounds")
		case st == nil:
			// Every instance runs with a state; a module without one must
			// not get here.
			panic(fmt.Errorf("%w: host call without a state", ErrTrap))
		case st.piece == nil:
			// Pure functions serve a loading bundle too.
			if out = pure(in); out == nil {
				out = errAnswer("no_execution", "host calls are available only while an action runs")
			}
		default:
			out = st.serve(ctx, in)
		}
		st.pending = out
		s[0] = uint64(len(out))
	}), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("host_call").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		if st == nil {
			panic(fmt.Errorf("%w: host call without a state", ErrTrap))
		}
		p := st.pending
		st.pending = nil
		if !m.Memory().Write(uint32(s[0]), p) {
			panic(fmt.Errorf("%w: host_read out of bounds", ErrTrap))
		}
	}), []api.ValueType{i32}, nil).Export("host_read").
		Instantiate(ctx)
	return err
}

func (st *callState) serve(ctx context.Context, in []byte) []byte {
	var op hostOp
	if err := json.Unmarshal(in, &op); err != nil {
		return errAnswer("invalid_request", "host call: %v", err)
	}
	switch op.Op {
	case "hash":
		return hashOp(op)
	case "fetch":
		return st.fetch(ctx, op)
	case "sleep":
		// A timer past the deadline waits for the deadline, which then
		// stops the call.
		d := time.Duration(op.MS * float64(time.Millisecond))
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return []byte(`{}`)
		case <-ctx.Done():
			return errAnswer("deadline", "the call's deadline passed")
		}
	case "random":
		n := int(op.N)
		if n < 1 || n > 65536 {
			return errAnswer("invalid_request", "random: 1 to 65536 bytes")
		}
		b := make([]byte, n)
		_, _ = rand.Read(b)
		out, _ := json.Marshal(map[string]string{"b64": base64.StdEncoding.EncodeToString(b)})
		return out
	case "log":
		st.logs++
		st.logBytes += len(op.Msg)
		if st.logs > maxLogLines || st.logBytes > maxLogBytes {
			st.dropped++
			return []byte(`{}`)
		}
		level := op.Level
		switch level {
		case "debug", "info", "warn", "error":
		default:
			level = "info"
		}
		msg := strings.ToValidUTF8(op.Msg, "\uFFFD")
		if st.host != nil {
			st.host.Log(ctx, level, msg)
		} else {
			st.piece.rt.cfg.Logger.Debug("js piece log", "piece", st.piece.id, "level", level, "msg", msg)
		}
		return []byte(`{}`)
	case "store_get":
		if st.host == nil {
			return errAnswer("no_store", "no store for this call")
		}
		if op.Key == "" || len(op.Key) > 256 {
			return errAnswer("invalid_key", "store key must have 1 to 256 bytes")
		}
		v, found, err := st.host.StoreGet(ctx, op.Key)
		if err != nil {
			return errAnswer("store_failed", "store get failed")
		}
		if !found {
			return []byte(`{"found":false}`)
		}
		b, _ := json.Marshal(map[string]any{"found": true, "value": string(v)})
		return b
	case "store_put":
		if st.host == nil {
			return errAnswer("no_store", "no store for this call")
		}
		if op.Key == "" || len(op.Key) > 256 {
			return errAnswer("invalid_key", "store key must have 1 to 256 bytes")
		}
		if err := st.host.StorePut(ctx, op.Key, []byte(op.Value)); err != nil {
			if errors.Is(err, hostrt.ErrStoreQuota) {
				return errAnswer("quota_exceeded", "%s", err.Error())
			}
			return errAnswer("store_failed", "store put failed")
		}
		return []byte(`{}`)
	}
	return errAnswer("invalid_request", "unknown host call %q", op.Op)
}

// fetch sends one request through the Outbound, following redirects
// itself so that every hop passes the allow-list.
func (st *callState) fetch(ctx context.Context, op hostOp) []byte {
	cfg := st.piece.rt.cfg
	if st.noEgress {
		return errAnswer("no_egress", "this call may send no requests")
	}
	st.fetches++
	if st.fetches > cfg.MaxHTTPPerCall {
		return errAnswer("too_many_requests", "more than %d requests in one call", cfg.MaxHTTPPerCall)
	}
	if cfg.Outbound == nil {
		return errAnswer("no_outbound", "this host sends no requests for pieces")
	}
	var body []byte
	if op.Body != nil {
		body = []byte(*op.Body)
	} else if op.BodyBase64 != "" {
		var err error
		if body, err = base64.StdEncoding.DecodeString(op.BodyBase64); err != nil {
			return errAnswer("invalid_request", "fetch: body: %v", err)
		}
	}
	if int64(len(body)) > cfg.MaxRequestBytes {
		return errAnswer("too_large", "fetch: body exceeds %d bytes", cfg.MaxRequestBytes)
	}
	method := strings.ToUpper(op.Method)
	if method == "" {
		method = http.MethodGet
	}
	target := op.URL
	for hop := 0; ; hop++ {
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return errAnswer("invalid_url", "fetch: the url must be absolute http(s) without credentials")
		}
		asked := *u // the URL as the piece named it, before any rewrite
		host := strings.ToLower(u.Hostname())
		if !st.allowed(host) {
			return errAnswer("host_not_allowed", "fetch: host %q is not declared by piece %s", host, st.piece.id)
		}
		if t, ok := cfg.Rewrite[host]; ok {
			tu, err := url.Parse(t)
			if err != nil {
				return errAnswer("invalid_url", "rewrite of %s is invalid", host)
			}
			u.Scheme, u.Host = tu.Scheme, tu.Host
		} else if hostrt.ListsHost(cfg.SharedPrivateHosts, u) && host != st.baseHost && !hostrt.ListsHost(cfg.PrivateHosts[st.piece.id], u) {
			return errAnswer("host_not_allowed", "fetch: %s may reach private addresses only for the pieces it is granted to: list it as %s=%s in ATOM_ALLOW_PRIVATE_HOSTS", u.Host, st.piece.id, u.Host)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return errAnswer("invalid_request", "fetch: %v", err)
		}
		for k, vs := range op.Headers {
			if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
				continue
			}
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := cfg.Outbound.Do(outbound.Scope(ctx, st.tenant, st.piece.id), req)
		if err != nil {
			code := "transport_error"
			if errors.Is(err, outbound.ErrForbiddenAddress) {
				code = "address_forbidden"
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			// The URL may carry a secret: name the host only.
			return errAnswer(code, "fetch to %s failed: %v", host, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" && op.Redirect != "manual" && hop < 5 {
			resp.Body.Close()
			next, err := asked.Parse(loc)
			if err != nil {
				return errAnswer("invalid_url", "fetch: bad redirect from %s", host)
			}
			// Keep the name the piece used for hosts the rewrite maps.
			target = next.String()
			if resp.StatusCode == http.StatusSeeOther || ((resp.StatusCode == 301 || resp.StatusCode == 302) && method == http.MethodPost) {
				method, body = http.MethodGet, nil
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, cfg.MaxResponseBytes+1))
		resp.Body.Close()
		if err != nil {
			return errAnswer("transport_error", "fetch to %s: reading the body failed", host)
		}
		if int64(len(data)) > cfg.MaxResponseBytes {
			return errAnswer("too_large", "fetch: the response from %s exceeds %d bytes", host, cfg.MaxResponseBytes)
		}
		out := map[string]any{"status": resp.StatusCode, "headers": resp.Header, "url": target, "redirected": hop > 0}
		if utf8.Valid(data) {
			out["body"] = string(data)
		} else {
			out["body_base64"] = base64.StdEncoding.EncodeToString(data)
		}
		b, _ := json.Marshal(out)
		return b
	}
}

// allowed: a host the piece declares (exact or *.domain), or the host of
// the execution's base URL.
func (st *callState) allowed(host string) bool {
	if host == "" {
		return false
	}
	if st.baseHost != "" && host == st.baseHost {
		return true
	}
	for _, pat := range st.piece.hosts {
		pat = strings.ToLower(pat)
		if suffix, ok := strings.CutPrefix(pat, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if pat == host {
			return true
		}
	}
	return false
}

// hashes are the digests crypto.createHash and createHmac offer.
var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New, "sha512-256": sha512.New512_256,
}

// maxHashBytes bounds one digest's input (the guest's memory cap bounds
// it anyway).
const maxHashBytes = 64 << 20

// pure answers the host calls that need no execution: hash. Others: nil.
func pure(in []byte) []byte {
	var op hostOp
	if err := json.Unmarshal(in, &op); err != nil || op.Op != "hash" {
		return nil
	}
	return hashOp(op)
}

// hashOp digests data_b64 with alg, as an HMAC keyed by key_b64 when set.
func hashOp(op hostOp) []byte {
	newHash, ok := hashes[strings.ReplaceAll(op.Alg, "_", "-")]
	if !ok {
		return errAnswer("invalid_request", "Digest method not supported: %q (md5, sha1, sha224, sha256, sha384, sha512)", truncate(op.Alg, 40))
	}
	if len(op.DataBase64) > maxHashBytes*4/3+4 {
		return errAnswer("invalid_request", "hash input over %d bytes", maxHashBytes)
	}
	data, err := base64.StdEncoding.DecodeString(op.DataBase64)
	if err != nil {
		return errAnswer("invalid_request", "hash data: %v", err)
	}
	var h hash.Hash
	if op.KeyBase64 != nil {
		key, err := base64.StdEncoding.DecodeString(*op.KeyBase64)
		if err != nil {
			return errAnswer("invalid_request", "hmac key: %v", err)
		}
		h = hmac.New(newHash, key)
	} else {
		h = newHash()
	}
	h.Write(data)
	out, _ := json.Marshal(map[string]string{"b64": base64.StdEncoding.EncodeToString(h.Sum(nil))})
	return out
}
