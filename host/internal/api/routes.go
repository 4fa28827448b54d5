package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Guard names how a route authenticates its caller. Every route the
// server serves is registered through a Router and so carries exactly one
// guard; RouteGuards lists them and a test compares the list with Fiber's
// route table.
type Guard string

const (
	// GuardPublic routes need no credential: health, readiness, metrics,
	// the OpenAPI document, the development demo and the integrations
	// page with its session endpoints (which check the key or the
	// session's CSRF token themselves).
	GuardPublic Guard = "public"
	// GuardAdmin routes need ATOM_ADMIN_KEY as a bearer token.
	GuardAdmin Guard = "admin"
	// GuardTenant routes need a tenant API key or a page session, and are
	// rate-limited per tenant.
	GuardTenant Guard = "tenant"
	// GuardOAuthState routes are the OAuth callbacks: the browser comes
	// back from the provider with no credential, and the single-use state
	// issued at connect binds the call to its tenant.
	GuardOAuthState Guard = "oauth-state"
	// GuardHook routes receive provider webhooks: no credential, the
	// unguessable hook id in the path picks the trigger instance, and the
	// trigger verifies the provider's signature.
	GuardHook Guard = "hook"
)

// Router registers routes that share one guard and one body limit. The
// guard runs before anything reads the request body, and the body is read
// only up to the limit.
type Router struct {
	s      *Server
	guard  Guard
	prefix string
	chain  []fiber.Handler
	limit  int
}

func (s *Server) router(g Guard, prefix string, limit int, chain ...fiber.Handler) *Router {
	return &Router{s: s, guard: g, prefix: prefix, chain: chain, limit: limit}
}

// Uploads returns a router like r whose routes take bodies up to
// ATOM_PLUGIN_UPLOAD_LIMIT instead of ATOM_BODY_LIMIT. Only the admin
// router offers it: a larger body is read only after the admin key has
// been checked.
func (r *Router) Uploads() *Router {
	if r.guard != GuardAdmin {
		panic("api: only admin routes take uploads")
	}
	cp := *r
	cp.limit = r.s.uploadLimit()
	return &cp
}

// Get registers a GET route (and its HEAD).
func (r *Router) Get(path string, h fiber.Handler) { r.add(fiber.MethodGet, path, h) }

// Post registers a POST route.
func (r *Router) Post(path string, h fiber.Handler) { r.add(fiber.MethodPost, path, h) }

// Put registers a PUT route.
func (r *Router) Put(path string, h fiber.Handler) { r.add(fiber.MethodPut, path, h) }

// Patch registers a PATCH route.
func (r *Router) Patch(path string, h fiber.Handler) { r.add(fiber.MethodPatch, path, h) }

// Delete registers a DELETE route.
func (r *Router) Delete(path string, h fiber.Handler) { r.add(fiber.MethodDelete, path, h) }

// All registers path for every method.
func (r *Router) All(path string, h fiber.Handler) { r.add("", path, h) }

func (r *Router) add(method, path string, h fiber.Handler) {
	full := r.prefix + path
	handlers := append(append([]fiber.Handler{}, r.chain...), r.s.limitBody(r.limit), h)
	var methods []string
	switch method {
	case "":
		r.s.app.All(full, handlers...)
		methods = fiber.DefaultMethods
	case fiber.MethodGet:
		r.s.app.Get(full, handlers...)
		methods = []string{fiber.MethodGet, fiber.MethodHead}
	default:
		r.s.app.Add(method, full, handlers...)
		methods = []string{method}
	}
	for _, m := range methods {
		key := m + " " + full
		if g, ok := r.s.guards[key]; ok && g != r.guard {
			panic("api: " + key + " registered with guards " + string(g) + " and " + string(r.guard))
		}
		r.s.guards[key] = r.guard
	}
	r.s.paths[full] = true
}

// RouteGuards returns the guard of every route registered through a
// Router, keyed "METHOD /path" as in Fiber's route table.
func (s *Server) RouteGuards() map[string]Guard {
	out := make(map[string]Guard, len(s.guards))
	for k, v := range s.guards {
		out[k] = v
	}
	return out
}

func (s *Server) bodyLimit() int {
	if s.deps.Config.BodyLimit > 0 {
		return s.deps.Config.BodyLimit
	}
	return 1 << 20
}

// DefaultUploadLimit bounds plugin uploads when ATOM_PLUGIN_UPLOAD_LIMIT
// is unset.
const DefaultUploadLimit = 64 << 20

func (s *Server) uploadLimit() int {
	if s.deps.Config.PluginUploadLimit > 0 {
		return s.deps.Config.PluginUploadLimit
	}
	return DefaultUploadLimit
}

func tooLarge(limit int, setting string) error {
	return apiErr(http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the limit of "+strconv.Itoa(limit)+" bytes ("+setting+")")
}

// limitBody reads the request body, up to limit bytes, after the route's
// guard has passed. The transport streams bodies (StreamRequestBody), so
// nothing beyond its first few kilobytes has been read yet: a declared
// length over the limit is refused before any read, and a chunked body is
// cut off at the limit. Compressed bodies are refused: Fiber would inflate
// them without a bound.
func (s *Server) limitBody(limit int) fiber.Handler {
	setting := "ATOM_BODY_LIMIT"
	if limit != s.bodyLimit() {
		setting = "ATOM_PLUGIN_UPLOAD_LIMIT"
	}
	return func(c *fiber.Ctx) error {
		req := c.Request()
		if encoded(c) {
			return apiErr(http.StatusUnsupportedMediaType, "unsupported_content_encoding", "request bodies are not decompressed: send the body without Content-Encoding")
		}
		if n := req.Header.ContentLength(); n > limit {
			return tooLarge(limit, setting)
		}
		if !req.IsBodyStream() {
			if len(req.Body()) > limit {
				return tooLarge(limit, setting)
			}
			return c.Next()
		}
		body, err := readUpTo(req.BodyStream(), req.Header.ContentLength(), limit)
		if err != nil {
			return apiErr(http.StatusBadRequest, "bad_body", "the request body could not be read: "+err.Error())
		}
		if len(body) > limit {
			return tooLarge(limit, setting)
		}
		req.SetBodyRaw(body)
		return c.Next()
	}
}

// requestBody is the body limitBody admitted, without Fiber's copy:
// limitBody refuses any Content-Encoding, so the bytes received are the
// body itself. The slice is valid until the handler returns; a decoder
// copies what it keeps.
func requestBody(c *fiber.Ctx) []byte { return c.Request().Body() }

// encoded reports whether any Content-Encoding header names a coding
// other than identity (Fiber decodes by the last one, a check by the
// first would miss a second header).
func encoded(c *fiber.Ctx) bool {
	found := false
	c.Request().Header.VisitAll(func(k, v []byte) {
		if !strings.EqualFold(string(k), fiber.HeaderContentEncoding) {
			return
		}
		for _, enc := range strings.Split(string(v), ",") {
			if e := strings.TrimSpace(enc); e != "" && !strings.EqualFold(e, "identity") {
				found = true
			}
		}
	})
	return found
}

// readUpTo reads a body of declared length n (negative: chunked) but at
// most limit+1 bytes. A declared length is read into one buffer of its
// size, so a large upload is not copied through ever larger ones.
func readUpTo(r io.Reader, n, limit int) ([]byte, error) {
	if n < 0 || n > limit {
		return io.ReadAll(io.LimitReader(r, int64(limit)+1))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// drainLimit is the largest unread body the server reads and discards to
// keep a connection open; a larger one closes the connection.
const drainLimit = 64 << 10

// lingerBytes and lingerTime bound what closeLingering discards.
const (
	lingerBytes = 4 << 20
	lingerTime  = time.Second
)

// closeLingering ends the connection after the response to a request
// whose body was refused unread. Closing a socket with unread data makes
// the kernel reset it, and a client still writing its body would lose the
// response (a 401 or 413) to the reset. So the response is written from a
// hijacked connection, which is then half-closed and read, discarding,
// for a short while (at most lingerBytes, then waiting without reading)
// before it is closed. Connections without a half-close
// (in-memory tests) are just closed after the response.
func closeLingering(c *fiber.Ctx) {
	ctx := c.Context()
	ctx.Response.SetConnectionClose()
	raw, ok := ctx.Conn().(interface{ CloseWrite() error })
	if !ok {
		return
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		defer conn.Close()
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w := bufio.NewWriter(conn)
		if ctx.Response.Write(w) != nil || w.Flush() != nil {
			return
		}
		_ = raw.CloseWrite()
		deadline := time.Now().Add(lingerTime)
		_ = conn.SetReadDeadline(deadline)
		if n, _ := io.CopyN(io.Discard, conn, lingerBytes); n == lingerBytes {
			// The client is still sending: stop reading, so its writes
			// stall and it reads the response, and close at the deadline.
			time.Sleep(time.Until(deadline))
		}
	})
}

// finishBody keeps the connection in step with the request stream. A
// request answered before its body was read (refused by a guard, a limit
// or an unknown route) leaves the body on the connection; the next request
// would be parsed from it. A small body is discarded; after a large one
// the connection is closed (closeLingering), so the body is never
// buffered.
func (s *Server) finishBody(c *fiber.Ctx) error {
	err := c.Next()
	req := c.Request()
	if !req.IsBodyStream() {
		return err
	}
	n := req.Header.ContentLength()
	if n < 0 || n > drainLimit {
		closeLingering(c)
		return err
	}
	if _, derr := io.Copy(io.Discard, io.LimitReader(req.BodyStream(), drainLimit+1)); derr != nil {
		closeLingering(c)
	}
	return err
}
