package api

import (
	"github.com/gofiber/fiber/v2"
)

// Executor runs actions for tenants (native plugins, wasm pieces and the
// generic HTTP action). Its routes are registered when it is set.
type Executor interface {
	// Routes registers the execution routes on the tenant-authenticated
	// router; handlers read the caller with PrincipalOf.
	Routes(r fiber.Router)
}

// PluginAdmin is the admin view of the plugin runtimes.
type PluginAdmin interface {
	// AdminRoutes registers the admin plugin routes on the
	// admin-authenticated router.
	AdminRoutes(r fiber.Router)
	// NativeCount is the number of native providers loaded.
	NativeCount() int
}

// WebUI is the integrations page.
type WebUI interface {
	// Mount registers the page's routes on the app.
	Mount(app *fiber.App)
	// Authenticate resolves a browser session to a principal.
	Authenticate(c *fiber.Ctx) (*Principal, bool)
}

// PrincipalOf returns the authenticated caller of a tenant route.
func PrincipalOf(c *fiber.Ctx) *Principal { return principalOf(c) }

// Fail builds an API error with an HTTP status, a short code and a
// message that says what to fix.
func Fail(status int, code, msg string) error { return apiErr(status, code, msg) }

// DecodeJSON strictly decodes the request body into v, returning a 400
// API error that names the problem.
func DecodeJSON(c *fiber.Ctx, v any) error { return decodeJSON(c, v) }

func (s *Server) execRoutes(r fiber.Router) {
	if s.deps.Exec != nil {
		s.deps.Exec.Routes(r)
	}
}

func (s *Server) adminPluginRoutes(r fiber.Router) {
	if s.deps.Plugins != nil {
		s.deps.Plugins.AdminRoutes(r)
	}
}
