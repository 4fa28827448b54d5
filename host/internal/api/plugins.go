package api

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/plugindir"
)

// pluginStatus is the HTTP status of each refusal code of an upload.
var pluginStatus = map[string]int{
	plugindir.CodeUploadDisabled: http.StatusForbidden,
	plugindir.CodeInvalidID:      http.StatusBadRequest,
	plugindir.CodeEmptyBody:      http.StatusBadRequest,
	plugindir.CodeTooLarge:       http.StatusRequestEntityTooLarge,
	plugindir.CodeNotPinned:      http.StatusForbidden,
	plugindir.CodeRefused:        http.StatusUnprocessableEntity,
	plugindir.CodeNativeOff:      http.StatusServiceUnavailable,
	plugindir.CodePiecesOff:      http.StatusServiceUnavailable,
	plugindir.CodePending:        http.StatusAccepted,
}

// listPlugins serves GET /api/v1/admin/plugins: the native plugins and
// pieces, loaded or not, with their state.
func (s *Server) listPlugins(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"plugins": s.deps.Plugins.Plugins()})
}

// putPlugin serves PUT /api/v1/admin/plugins/:id: a native binary or a
// wasm module (told apart by the wasm magic bytes) installed as plugin id.
func (s *Server) putPlugin(c *fiber.Ctx) error {
	// The body is only valid during the handler; the plugin outlives it.
	p, err := s.deps.Plugins.Upload(c.Params("id"), bytes.Clone(c.Body()))
	var pe *plugindir.Error
	if errors.As(err, &pe) {
		status, ok := pluginStatus[pe.Code]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		return Fail(status, pe.Code, pe.Message)
	}
	if err != nil {
		return err
	}
	return c.JSON(p)
}
