package api

import (
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/plugindir"
)

// PluginAdmin is the administration of the plugin directory
// (*plugindir.Admin); GET /admin/plugins and PUT /admin/plugins/:id serve
// it.
type PluginAdmin interface {
	// Plugins lists native plugins and pieces.
	Plugins() []plugindir.Plugin
	// Upload installs a native binary or a wasm piece as plugin id; a
	// refusal is a *plugindir.Error.
	Upload(id string, data []byte) (plugindir.Plugin, error)
	// NativeCount is the number of native providers loaded.
	NativeCount() int
	// JSPieceList, AddJSPiece and RemoveJSPiece serve /admin/pieces: the
	// JS pieces (Activepieces packages); refusals are *plugindir.Error.
	JSPieceList() []plugindir.Plugin
	AddJSPiece(ctx context.Context, req plugindir.JSPieceRequest) (plugindir.Plugin, error)
	RemoveJSPiece(id string) error
}

// WebUI is the integrations page.
type WebUI interface {
	// Mount registers the page's routes on the public router; routes that
	// need a session check it themselves.
	Mount(r *Router)
	// Authenticate resolves a browser session to a principal.
	Authenticate(c *fiber.Ctx) (*Principal, bool)
	// Guard runs before authentication on tenant routes: a call carrying
	// the page's session cookie must carry its CSRF token (403 without).
	Guard(c *fiber.Ctx) error
}

// PrincipalOf returns the authenticated caller of a tenant route.
func PrincipalOf(c *fiber.Ctx) *Principal { return principalOf(c) }

// Fail builds an API error with an HTTP status, a short code and a
// message that says what to fix.
func Fail(status int, code, msg string) error { return apiErr(status, code, msg) }

// DecodeJSON strictly decodes the request body into v, returning a 400
// API error that names the problem.
func DecodeJSON(c *fiber.Ctx, v any) error { return decodeJSON(c, v) }

// RunnableAction is one action that runs here.
type RunnableAction struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	// Implementation is the kind of runtime that runs it: native, piece
	// or generic.
	Implementation string          `json:"implementation"`
	InputSchema    json.RawMessage `json:"input_schema,omitempty"`
}
