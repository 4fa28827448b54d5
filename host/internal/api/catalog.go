package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
)

func (s *Server) catalogList(c *fiber.Ctx) error {
	q := catalog.Query{
		Q:              c.Query("q"),
		Category:       c.Query("category"),
		Auth:           c.Query("auth"),
		Implementation: c.Query("implementation"),
		Cursor:         c.Query("cursor"),
	}
	if len(q.Q) > 200 {
		return apiErr(http.StatusBadRequest, "invalid_query", "q must be at most 200 characters")
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return apiErr(http.StatusBadRequest, "invalid_limit", "limit must be a number from 1 to 500")
		}
		q.Limit = n
	}
	if q.Category != "" {
		if _, ok := catalog.LookupCategory(q.Category); !ok {
			return apiErr(http.StatusBadRequest, "invalid_category", "unknown category "+quote(q.Category)+": see GET /api/v1/catalog/categories")
		}
	}
	switch q.Implementation {
	case "", catalog.ImplNative, catalog.ImplPiece, catalog.ImplGeneric:
	default:
		return apiErr(http.StatusBadRequest, "invalid_implementation", "implementation must be native, piece or generic")
	}
	switch q.Auth {
	case "", catalog.AuthOAuth2, catalog.AuthOAuth2CC, catalog.AuthOAuth1, catalog.AuthAPIKey, catalog.AuthBasic, catalog.AuthCustom, catalog.AuthNone:
	default:
		return apiErr(http.StatusBadRequest, "invalid_auth", "auth must be one of oauth2, oauth2_cc, oauth1, api_key, basic, custom, none")
	}
	page, err := s.deps.Catalog().Find(q)
	if errors.Is(err, catalog.ErrBadCursor) {
		return apiErr(http.StatusBadRequest, "invalid_cursor", "cursor is not one this server returned; start again without it")
	}
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []*catalog.Descriptor{}
	}
	return c.JSON(page)
}

func (s *Server) catalogGet(c *fiber.Ctx) error {
	d, ok := s.deps.Catalog().Get(c.Params("id"))
	if !ok {
		return apiErr(http.StatusNotFound, "unknown_provider", "no integration "+quote(c.Params("id"))+" in the catalog")
	}
	return c.JSON(d)
}

// catalogSchema serves the JSON Schema of a descriptor (catalog/schema.json),
// the format of ATOM_CATALOG_DIR files (docs/descriptors.md).
func (s *Server) catalogSchema(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/schema+json")
	return c.Send(catalog.SchemaJSON)
}

func (s *Server) catalogCategories(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"items": s.deps.Catalog().Categories()})
}

type providerStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	Status    string `json:"status"`
}

// integrationsStatus is the spec's dashboard, computed from the catalog,
// the loaded plugins and the tenant's connections.
func (s *Server) integrationsStatus(c *fiber.Ctx) error {
	p := principalOf(c)
	cat := s.deps.Catalog()
	var conns []store.Connection
	err := s.deps.Store.InTenant(c.UserContext(), p.TenantID, func(tx store.Tx) error {
		var err error
		conns, err = tx.ListConnections(c.UserContext())
		return err
	})
	if err != nil {
		return err
	}
	status := map[string]string{}
	connected := 0
	for _, cn := range conns {
		if p.UserID != "" && cn.UserID != "" && cn.UserID != p.UserID {
			continue
		}
		if prev, ok := status[cn.Provider]; !ok || prev != store.StatusActive {
			status[cn.Provider] = cn.Status
		}
	}
	for _, st := range status {
		if st == store.StatusActive {
			connected++
		}
	}
	native := 0
	if s.deps.Plugins != nil {
		native = s.deps.Plugins.NativeCount()
	}
	categories := 0
	for _, cc := range cat.Categories() {
		if cc.Count > 0 {
			categories++
		}
	}
	all := cat.All()
	providers := make([]providerStatus, 0, len(all))
	for _, d := range all {
		ps := providerStatus{ID: d.ID, Name: d.Name, Status: "available"}
		if !d.Connectable {
			ps.Status = "not_connectable"
		}
		if st, ok := status[d.ID]; ok {
			ps.Connected = st == store.StatusActive
			ps.Status = st
		}
		providers = append(providers, ps)
	}
	return c.JSON(fiber.Map{
		"total_integrations":     cat.Len(),
		"native_implementations": native,
		"connected":              connected,
		"categories":             categories,
		"providers":              providers,
	})
}
