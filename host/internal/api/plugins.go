package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

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
	codeInvalidPackage:           http.StatusBadRequest,
	codeNoSuchPiece:              http.StatusNotFound,
}

// Codes of the JS piece routes (jspiece.CodeInvalidPackage and
// jspiece.CodeNoSuchPiece).
const (
	codeInvalidPackage = "invalid_package"
	codeNoSuchPiece    = "piece_not_found"
)

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
	if err != nil {
		return pluginErr(err)
	}
	return c.JSON(p)
}

// pluginErr maps a refusal of the plugin directory to its status.
func pluginErr(err error) error {
	var pe *plugindir.Error
	if errors.As(err, &pe) {
		status, ok := pluginStatus[pe.Code]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		return Fail(status, pe.Code, pe.Message)
	}
	return err
}

// listJSPieces serves GET /api/v1/admin/pieces: the JS pieces, loaded or
// refused.
func (s *Server) listJSPieces(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"pieces": s.deps.Plugins.JSPieceList()})
}

// addJSPieceRequest is the JSON body of POST /api/v1/admin/pieces.
type addJSPieceRequest struct {
	Package string   `json:"package"`
	Version string   `json:"version"`
	Hosts   []string `json:"hosts"`
}

// addJSPieceTimeout bounds npm, the bundler and the first load.
const addJSPieceTimeout = 5 * time.Minute

// addJSPiece serves POST /api/v1/admin/pieces: {package, version, hosts}
// fetched from the npm registry, or a package tarball as the body
// (Content-Type application/gzip, hosts in ?hosts=a.example,b.example).
func (s *Server) addJSPiece(c *fiber.Ctx) error {
	var req plugindir.JSPieceRequest
	ct, _, _ := strings.Cut(string(c.Request().Header.ContentType()), ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "application/json":
		var in addJSPieceRequest
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		if strings.TrimSpace(in.Package) == "" {
			return Fail(http.StatusBadRequest, "invalid_input", `package is required, e.g. {"package": "@activepieces/piece-slack", "version": "0.17.9"}`)
		}
		req = plugindir.JSPieceRequest{Package: in.Package, Version: in.Version, Hosts: in.Hosts}
	case "application/gzip", "application/x-gzip", "application/octet-stream":
		req.Tarball = bytes.Clone(c.Body())
		for _, h := range strings.Split(c.Query("hosts"), ",") {
			if h = strings.TrimSpace(h); h != "" {
				req.Hosts = append(req.Hosts, h)
			}
		}
	default:
		return Fail(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/json {package, version, hosts} or a package .tgz as application/gzip")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), addJSPieceTimeout)
	defer cancel()
	p, err := s.deps.Plugins.AddJSPiece(ctx, req)
	if err != nil {
		return pluginErr(err)
	}
	return c.Status(http.StatusCreated).JSON(p)
}

// removeJSPiece serves DELETE /api/v1/admin/pieces/:id.
func (s *Server) removeJSPiece(c *fiber.Ctx) error {
	if err := s.deps.Plugins.RemoveJSPiece(c.Params("id")); err != nil {
		return pluginErr(err)
	}
	return c.SendStatus(http.StatusNoContent)
}
