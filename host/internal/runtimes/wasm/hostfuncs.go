package wasm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

// callKey is the context key of the *callState of the running call.
type callKey struct{}

// callState is what host functions may use while one call runs. It binds
// every host call to that execution: outside a call (during _initialize or
// atom_manifest) host functions refuse.
type callState struct {
	piece    *Piece
	req      *provider.Request
	host     hostrt.Host
	baseHost string
	// noEgress: the call may send no request (a trigger's route).
	noEgress bool

	creds    []byte      // credentials JSON, marshalled on first use
	pending  []byte      // result kept for result_read
	secrets  [][2]uint32 // guest regions the host wrote credentials into
	requests int
	logs     int
	logBytes int
	dropped  int // log lines over the call's limits
}

// finish zeroes the guest regions that received credentials during the
// call, if the instance is still alive.
func (st *callState) finish(inst *instance) {
	mem := inst.mod.Memory()
	for _, r := range st.secrets {
		if b, ok := mem.Read(r[0], r[1]); ok {
			clear(b)
		}
	}
	clear(st.creds)
	if st.dropped > 0 {
		st.piece.rt.cfg.Logger.Warn("piece log lines dropped: over the per-call limit", "piece", st.piece.spec.ID,
			"execution_id", st.req.ExecutionID, "dropped", st.dropped, "max_lines", maxLogLines, "max_bytes", st.piece.rt.cfg.MaxLogBytesPerCall)
	}
	st.creds, st.pending, st.req = nil, nil, nil
}

const (
	maxLogLines   = 100
	maxLogBytes   = 4096
	maxKeyBytes   = 256
	maxGuestInput = 1 << 20
)

func i32(v uint64) uint32 { return uint32(v) }

// instantiateHostModule defines module "atom" in rt. See ABI.md.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime, cfg Config) error {
	i := api.ValueTypeI32
	b := rt.NewHostModuleBuilder("atom")
	fn := func(name string, f api.GoModuleFunc, params, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
	}
	fn("http_request", func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		if st == nil {
			s[0] = refuse(ctx, nil, m, "no_execution", "http_request outside an execution")
			return
		}
		in := readGuest(m, i32(s[0]), i32(s[1]), cfg.MaxRequestBytes*2)
		s[0] = st.deliver(m, i32(s[2]), i32(s[3]), st.httpRequest(ctx, in))
	}, []api.ValueType{i, i, i, i}, []api.ValueType{i})
	creds := func(refresh bool) api.GoModuleFunc {
		return func(ctx context.Context, m api.Module, s []uint64) {
			st := state(ctx)
			if st == nil {
				s[0] = refuse(ctx, nil, m, "no_execution", "credentials outside an execution")
				return
			}
			if refresh {
				if st.host == nil {
					s[0] = st.fail(piece.StatusRefused, "no_host", "refresh is not available")
					return
				}
				c, err := st.host.Refresh(ctx)
				if err != nil {
					s[0] = st.fail(piece.StatusFailed, "refresh_failed", "refresh failed: "+err.Error())
					return
				}
				st.req.Credentials = c
				clear(st.creds)
				st.creds = nil
			}
			if st.creds == nil {
				st.creds, _ = json.Marshal(st.req.Credentials)
			}
			outPtr, outCap := i32(s[0]), i32(s[1])
			n := st.deliver(m, outPtr, outCap, hostResult{data: st.creds})
			if int(n) <= int(outCap) {
				st.secrets = append(st.secrets, [2]uint32{outPtr, uint32(n)})
			}
			s[0] = n
		}
	}
	fn("credentials", creds(false), []api.ValueType{i, i}, []api.ValueType{i})
	fn("refresh", creds(true), []api.ValueType{i, i}, []api.ValueType{i})
	fn("store_get", func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		if st == nil || st.host == nil {
			s[0] = refuse(ctx, st, m, "no_store", "store_get outside an execution")
			return
		}
		key := string(readGuest(m, i32(s[0]), i32(s[1]), maxKeyBytes))
		if key == "" {
			s[0] = st.fail(piece.StatusInvalid, "invalid_key", fmt.Sprintf("store key must have 1 to %d bytes", maxKeyBytes))
			return
		}
		v, found, err := st.host.StoreGet(ctx, key)
		switch {
		case err != nil:
			s[0] = st.fail(piece.StatusFailed, "store_failed", "store_get failed")
			cfg.Logger.Warn("piece store_get failed", "piece", st.piece.spec.ID, "err", err)
		case !found:
			s[0] = st.fail(piece.StatusNotFound, "not_found", "key not found")
		default:
			s[0] = st.deliver(m, i32(s[2]), i32(s[3]), hostResult{data: v})
		}
	}, []api.ValueType{i, i, i, i}, []api.ValueType{i})
	fn("store_put", func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		if st == nil || st.host == nil {
			s[0] = refuse(ctx, st, m, "no_store", "store_put outside an execution")
			return
		}
		key := string(readGuest(m, i32(s[0]), i32(s[1]), maxKeyBytes))
		if key == "" {
			s[0] = st.fail(piece.StatusInvalid, "invalid_key", fmt.Sprintf("store key must have 1 to %d bytes", maxKeyBytes))
			return
		}
		if int(i32(s[3])) > cfg.MaxStoreValueBytes {
			s[0] = st.fail(piece.StatusRefused, "too_large", fmt.Sprintf("store value exceeds %d bytes", cfg.MaxStoreValueBytes))
			return
		}
		v := bytes.Clone(readGuest(m, i32(s[2]), i32(s[3]), int64(cfg.MaxStoreValueBytes)))
		if err := st.host.StorePut(ctx, key, v); err != nil {
			if errors.Is(err, hostrt.ErrStoreQuota) {
				s[0] = st.fail(piece.StatusRefused, "quota_exceeded", err.Error())
				return
			}
			cfg.Logger.Warn("piece store_put failed", "piece", st.piece.spec.ID, "err", err)
			s[0] = st.fail(piece.StatusFailed, "store_failed", "store_put failed")
			return
		}
		s[0] = 0
	}, []api.ValueType{i, i, i, i}, []api.ValueType{i})
	fn("log", func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		level := [...]string{"debug", "info", "warn", "error"}[min(i32(s[0]), 3)]
		n := min(i32(s[2]), maxLogBytes)
		msg := strings.ToValidUTF8(string(readGuest(m, i32(s[1]), n, maxLogBytes)), "\uFFFD")
		if st == nil {
			cfg.Logger.Debug("piece log outside an execution", "level", level, "msg", msg)
			return
		}
		st.logs++
		st.logBytes += len(msg)
		if st.logs > maxLogLines || st.logBytes > cfg.MaxLogBytesPerCall {
			st.dropped++
			return
		}
		if st.host != nil {
			st.host.Log(ctx, level, msg)
			return
		}
		cfg.Logger.Log(ctx, slogLevel(level), msg, "piece", st.piece.spec.ID, "execution_id", st.req.ExecutionID)
	}, []api.ValueType{i, i, i}, nil)
	fn("result_read", func(ctx context.Context, m api.Module, s []uint64) {
		st := state(ctx)
		if st == nil || st.pending == nil {
			s[0] = statusWord(piece.StatusRefused)
			return
		}
		outPtr, outCap := i32(s[0]), i32(s[1])
		n := len(st.pending)
		if n <= int(outCap) {
			write(m, outPtr, st.pending)
			st.pending = nil
		}
		s[0] = uint64(uint32(n))
	}, []api.ValueType{i, i}, []api.ValueType{i})
	_, err := b.Instantiate(ctx)
	return err
}

func slogLevel(level string) slog.Level {
	switch level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

func state(ctx context.Context) *callState {
	st, _ := ctx.Value(callKey{}).(*callState)
	return st
}

// refuse answers a host call made outside an execution. Without a call
// state there is nowhere to keep the error JSON, so only the status tells.
func refuse(_ context.Context, st *callState, _ api.Module, code, msg string) uint64 {
	if st != nil {
		return st.fail(piece.StatusRefused, code, msg)
	}
	return statusWord(piece.StatusRefused)
}

// readGuest returns guest memory [ptr, ptr+n). An out-of-range region or
// one larger than limit is a guest fault: the host panics, the call traps
// and the instance is thrown away.
func readGuest(m api.Module, ptr, n uint32, limit int64) []byte {
	if int64(n) > limit {
		panic(fmt.Errorf("guest passed %d bytes, over the limit of %d", n, limit))
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("guest region (%d, %d) is outside its memory", ptr, n))
	}
	return b
}

func write(m api.Module, ptr uint32, b []byte) {
	if !m.Memory().Write(ptr, b) {
		panic(fmt.Errorf("guest buffer (%d, %d) is outside its memory", ptr, len(b)))
	}
}

// hostResult is a host function's result: data, or an error status with
// its JSON.
type hostResult struct {
	data   []byte
	status int32
	err    *piece.HostError
}

// deliver writes r into the guest buffer when it fits, or keeps it for
// result_read, and returns the function's i32 result.
func (st *callState) deliver(m api.Module, outPtr, outCap uint32, r hostResult) uint64 {
	if r.err != nil {
		return st.fail(r.status, r.err.Code, r.err.Message)
	}
	st.pending = nil
	if len(r.data) <= int(outCap) {
		write(m, outPtr, r.data)
	} else {
		st.pending = r.data
	}
	return uint64(uint32(len(r.data)))
}

func (st *callState) fail(status int32, code, msg string) uint64 {
	st.pending, _ = json.Marshal(piece.HostError{Code: code, Message: msg})
	return statusWord(status)
}

func refused(code, format string, args ...any) hostResult {
	return hostResult{status: piece.StatusRefused, err: &piece.HostError{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// httpRequest performs one guest HTTP request through the Outbound, after
// the allow-list check.
func (st *callState) httpRequest(ctx context.Context, in []byte) hostResult {
	cfg := st.piece.rt.cfg
	if st.noEgress {
		return refused("host_not_allowed", "http_request: this call sends no requests")
	}
	st.requests++
	if st.requests > cfg.MaxHTTPPerCall {
		return refused("too_many_requests", "more than %d HTTP requests in one call", cfg.MaxHTTPPerCall)
	}
	var hr piece.HTTPRequest
	if err := json.Unmarshal(in, &hr); err != nil {
		return hostResult{status: piece.StatusInvalid, err: &piece.HostError{Code: "invalid_request", Message: "http_request: " + err.Error()}}
	}
	u, err := url.Parse(hr.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return refused("invalid_url", "http_request: url must be absolute http(s) without credentials")
	}
	host := strings.ToLower(u.Hostname())
	if !st.allowed(host) {
		return refused("host_not_allowed", "http_request: host %q is not declared by piece %s", host, st.piece.spec.ID)
	}
	target, rewritten := cfg.Rewrite[st.piece.spec.ID+"/"+host]
	if !rewritten {
		target, rewritten = cfg.Rewrite[host]
	}
	if rewritten {
		t, err := url.Parse(target)
		if err != nil {
			return refused("invalid_url", "rewrite of %s is invalid", host)
		}
		u.Scheme, u.Host = t.Scheme, t.Host
	} else if !st.privateGranted(u) {
		return refused("host_not_allowed", "http_request: %s may reach private addresses only for the providers it is granted to, and not for piece %s: list it as %s=%s in ATOM_ALLOW_PRIVATE_HOSTS to grant it",
			u.Host, st.piece.spec.ID, st.piece.spec.ID, u.Host)
	}
	body := []byte(hr.Body)
	if hr.BodyBase64 != "" {
		if body, err = base64.StdEncoding.DecodeString(hr.BodyBase64); err != nil {
			return hostResult{status: piece.StatusInvalid, err: &piece.HostError{Code: "invalid_request", Message: "http_request: body_base64: " + err.Error()}}
		}
	}
	if int64(len(body)) > cfg.MaxRequestBytes {
		return refused("too_large", "http_request: body exceeds %d bytes", cfg.MaxRequestBytes)
	}
	method := strings.ToUpper(hr.Method)
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return hostResult{status: piece.StatusInvalid, err: &piece.HostError{Code: "invalid_request", Message: "http_request: " + err.Error()}}
	}
	for k, vs := range hr.Headers {
		if strings.EqualFold(k, "Host") {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := cfg.Outbound.Do(ctx, req)
	var rl *outbound.RateLimitError
	if errors.As(err, &rl) {
		// The host's own rate limit refused the request: the guest gets
		// the answer a provider would give (429 with Retry-After), and
		// the caller a 429 rate_limited.
		return rateLimited(rl)
	}
	if err != nil {
		code := "transport_error"
		if errors.Is(err, outbound.ErrForbiddenAddress) {
			code = "address_forbidden"
		}
		// The URL may carry a secret (Telegram puts the bot token in the
		// path): report the host only.
		return hostResult{status: piece.StatusFailed, err: &piece.HostError{Code: code, Message: fmt.Sprintf("http_request to %s failed: %s", host, scrubURLError(err))}}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, cfg.MaxResponseBytes+1))
	if err != nil {
		return hostResult{status: piece.StatusFailed, err: &piece.HostError{Code: "transport_error", Message: fmt.Sprintf("http_request to %s: reading body failed", host)}}
	}
	if int64(len(data)) > cfg.MaxResponseBytes {
		return refused("too_large", "http_request: response from %s exceeds %d bytes", host, cfg.MaxResponseBytes)
	}
	out := piece.HTTPResponse{Status: resp.StatusCode, Headers: resp.Header}
	if utf8.Valid(data) {
		out.Body = string(data)
	} else {
		out.BodyBase64 = base64.StdEncoding.EncodeToString(data)
	}
	b, _ := json.Marshal(out)
	return hostResult{data: b}
}

// rateLimited is the guest's answer to a request the host's rate limit
// refused: 429 with the computed wait as Retry-After, in whole seconds.
func rateLimited(rl *outbound.RateLimitError) hostResult {
	secs := int64((rl.RetryAfter + time.Second - 1) / time.Second)
	msg, _ := json.Marshal(rl.Error())
	out := piece.HTTPResponse{Status: http.StatusTooManyRequests, Headers: map[string][]string{
		"Retry-After": {strconv.FormatInt(max(secs, 1), 10)}, "Content-Type": {"application/json"}},
		Body: `{"error":{"message":` + string(msg) + `}}`}
	b, _ := json.Marshal(out)
	return hostResult{data: b}
}

// scrubURLError drops the URL from a *url.Error, keeping its cause.
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// allowed reports whether the call may reach host: a host the manifest
// declares, or the host of the execution's base URL chosen by the host.
func (st *callState) allowed(host string) bool {
	if host == "" {
		return false
	}
	if st.baseHost != "" && host == st.baseHost {
		return true
	}
	for _, pat := range st.piece.spec.Hosts {
		if hostrt.MatchHost(strings.ToLower(pat), host) {
			return true
		}
	}
	return false
}

// privateGranted reports whether the piece may send a request to u as far
// as the private-host allowance goes: u's host is not one the Outbound
// lets reach private addresses for everyone, or it is granted to this
// piece (Config.PrivateHosts), or it is the host of the execution's base
// URL, which the operator chose for this provider.
func (st *callState) privateGranted(u *url.URL) bool {
	cfg := st.piece.rt.cfg
	if !hostrt.ListsHost(cfg.SharedPrivateHosts, u) {
		return true
	}
	if st.baseHost != "" && strings.ToLower(u.Hostname()) == st.baseHost {
		return true
	}
	return hostrt.ListsHost(cfg.PrivateHosts[st.piece.spec.ID], u)
}

func validHostPattern(p string) error {
	h := strings.TrimPrefix(p, "*.")
	if h == "" || strings.ContainsAny(h, "*/:@ ") || !strings.Contains(h, ".") {
		return fmt.Errorf("host pattern %q must be a domain name or *.domain", p)
	}
	return nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// statusWord encodes a negative status as the i32 result of a host function.
func statusWord(status int32) uint64 { return uint64(uint32(status)) }
