package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/apikey"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
)

// decodeJSON decodes a JSON request body strictly into v.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := requestBody(c)
	if len(body) == 0 {
		return apiErr(http.StatusBadRequest, "invalid_json", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return apiErr(http.StatusBadRequest, "invalid_json", "malformed JSON at byte "+itoa(int(se.Offset))+": "+se.Error())
		case errors.As(err, &te):
			return apiErr(http.StatusBadRequest, "invalid_json", "field "+quote(te.Field)+" must be "+te.Type.String()+", got "+te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return apiErr(http.StatusBadRequest, "invalid_json", strings.TrimPrefix(err.Error(), "json: "))
		}
		return apiErr(http.StatusBadRequest, "invalid_json", "request body must be a JSON object: "+err.Error())
	}
	if dec.More() {
		return apiErr(http.StatusBadRequest, "invalid_json", "request body must hold exactly one JSON object")
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }

func itoa(n int) string { return strconv.Itoa(n) }

type createTenantRequest struct {
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
}

var tenantIDOK = userIDRe

func (s *Server) createTenant(c *fiber.Ctx) error {
	var req createTenantRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > store.MaxTenantName {
		return apiErr(http.StatusBadRequest, "invalid_name", "name is required (1-200 characters)")
	}
	if err := CheckText("name", req.Name, store.MaxTenantName); err != nil {
		return err
	}
	if req.ID == "" {
		req.ID = ids.New("ten")
	} else if !tenantIDOK.MatchString(req.ID) {
		return apiErr(http.StatusBadRequest, "invalid_id", "id must be 1-64 characters of letters, digits and _.:@-")
	}
	t := &store.Tenant{ID: req.ID, Name: req.Name}
	err := s.deps.Store.InTenant(c.UserContext(), t.ID, func(tx store.Tx) error {
		if err := tx.CreateTenant(c.UserContext(), t); err != nil {
			return err
		}
		return tx.AddAudit(c.UserContext(), &store.AuditEvent{Actor: "admin", Action: "tenant.create", Target: t.ID})
	})
	if errors.Is(err, store.ErrConflict) {
		return apiErr(http.StatusConflict, "tenant_exists", "a tenant with id "+quote(t.ID)+" already exists")
	}
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(tenantJSON(t, nil))
}

type createKeyRequest struct {
	Name string `json:"name"`
}

type apiKeyBody struct {
	ID        string     `json:"id"`
	Key       string     `json:"key,omitempty"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	TenantID  string     `json:"tenant_id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// tenantExists maps a missing tenant to 404.
func (s *Server) inExistingTenant(c *fiber.Ctx, id string, fn func(tx store.Tx) error) error {
	err := s.deps.Store.InTenant(c.UserContext(), id, func(tx store.Tx) error {
		if _, err := tx.GetTenant(c.UserContext()); err != nil {
			return err
		}
		return fn(tx)
	})
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusNotFound, "not_found", "no tenant "+quote(id)+" (or no such key)")
	}
	return err
}

func (s *Server) createAPIKey(c *fiber.Ctx) error {
	var req createKeyRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	if err := CheckText("name", req.Name, store.MaxAPIKeyName); err != nil {
		return err
	}
	key, lookup, hash := apikey.New()
	k := &store.APIKey{Name: req.Name, Prefix: lookup, Hash: hash}
	tenantID := c.Params("id")
	err := s.inExistingTenant(c, tenantID, func(tx store.Tx) error {
		if err := tx.CreateAPIKey(c.UserContext(), k); err != nil {
			return err
		}
		return tx.AddAudit(c.UserContext(), &store.AuditEvent{Actor: "admin", Action: "apikey.create", Target: k.ID})
	})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(apiKeyBody{ID: k.ID, Key: key, Name: k.Name, Prefix: k.Prefix, TenantID: tenantID, CreatedAt: k.CreatedAt})
}

func (s *Server) listAPIKeys(c *fiber.Ctx) error {
	var out []apiKeyBody
	tenantID := c.Params("id")
	err := s.inExistingTenant(c, tenantID, func(tx store.Tx) error {
		keys, err := tx.ListAPIKeys(c.UserContext())
		for _, k := range keys {
			out = append(out, apiKeyBody{ID: k.ID, Name: k.Name, Prefix: k.Prefix, TenantID: tenantID, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt})
		}
		return err
	})
	if err != nil {
		return err
	}
	if out == nil {
		out = []apiKeyBody{}
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *Server) revokeAPIKey(c *fiber.Ctx) error {
	keyID := c.Params("keyId")
	err := s.inExistingTenant(c, c.Params("id"), func(tx store.Tx) error {
		if err := tx.RevokeAPIKey(c.UserContext(), keyID, time.Now()); err != nil {
			return err
		}
		return tx.AddAudit(c.UserContext(), &store.AuditEvent{Actor: "admin", Action: "apikey.revoke", Target: keyID})
	})
	if err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
