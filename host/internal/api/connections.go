package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/store"
)

func (s *Server) connectionRoutes(r *Router) {
	r.Get("/v1/connections", s.listConnections)
	r.Post("/v1/connections/:provider", s.createConnection)
	r.Get("/v1/connections/:provider", s.getConnection)
	r.Delete("/v1/connections/:provider", s.deleteConnection)
	r.Put("/v1/oauth-apps/:provider", s.putOAuthApp)
	r.Get("/v1/oauth-apps/:provider", s.getOAuthApp)
	r.Delete("/v1/oauth-apps/:provider", s.deleteOAuthApp)
	r.Put("/v1/webhook", s.putWebhook)
	r.Get("/v1/webhook", s.getWebhook)
	r.Post("/v1/users", s.createUser)
}

func (s *Server) connectSvc() (*connect.Service, error) {
	if s.deps.Connect == nil {
		return nil, apiErr(http.StatusServiceUnavailable, "connections_disabled", "connections are not enabled on this host")
	}
	return s.deps.Connect, nil
}

// reserved query parameters of the connect action; every other parameter
// is a connection parameter (e.g. shop, region).
var reservedConnectParams = map[string]bool{"action": true, "return_to": true, "scopes": true, "user_id": true}

// integrationAction serves the spec's GET /api/integrations/{provider}?action=…
func (s *Server) integrationAction(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	p := principalOf(c)
	provider := c.Params("provider")
	ctx := c.UserContext()
	switch c.Query("action") {
	case "connect":
		if err := requireIntent(c); err != nil {
			return err
		}
		opts := connect.ConnectOptions{ReturnTo: c.Query("return_to"), Params: map[string]string{}}
		if sc := c.Query("scopes"); sc != "" {
			for _, v := range strings.FieldsFunc(sc, func(r rune) bool { return r == ',' || r == ' ' }) {
				opts.Scopes = append(opts.Scopes, v)
			}
		}
		for k, v := range c.Queries() {
			if !reservedConnectParams[k] {
				opts.Params[k] = v
			}
		}
		res, err := svc.StartConnect(ctx, p.TenantID, p.UserID, provider, opts)
		if err != nil {
			return err
		}
		return c.JSON(res)
	case "status":
		st, err := svc.Status(ctx, p.TenantID, p.UserID, provider)
		if err != nil {
			return err
		}
		return c.JSON(st)
	case "disconnect":
		if err := requireIntent(c); err != nil {
			return err
		}
		return s.disconnect(c, svc, p, provider)
	case "":
		return apiErr(http.StatusBadRequest, "missing_action", "action is required: connect, status or disconnect")
	default:
		return apiErr(http.StatusBadRequest, "invalid_action", "action must be connect, status or disconnect, not "+quote(c.Query("action")))
	}
}

func (s *Server) disconnect(c *fiber.Ctx, svc *connect.Service, p *Principal, provider string) error {
	if err := svc.Disconnect(c.UserContext(), p.TenantID, p.UserID, provider); err != nil {
		return err
	}
	name := provider
	if d, ok := s.deps.Catalog().Get(provider); ok {
		name = d.Name
	}
	return c.JSON(fiber.Map{"success": true, "message": name + " disconnected"})
}

// oauthCallback completes an OAuth flow and redirects the browser to
// /integrations?success={provider} or ?error=<code>. A client that asks
// for JSON gets the error as JSON instead.
func (s *Server) oauthCallback(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	provider := c.Params("provider")
	query := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { query.Add(string(k), string(v)) })
	res, err := svc.Callback(c.UserContext(), provider, query)
	target := res.ReturnTo
	if target == "" {
		target = "/integrations"
	}
	wantsJSON := strings.Contains(c.Get(fiber.HeaderAccept), "application/json") && !strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
	if err != nil {
		ce, ok := connect.AsError(err)
		var ie *store.InvalidError
		if !ok && errors.As(err, &ie) {
			// A value from the provider or the callback the database
			// cannot keep: the provider's fault, not the host's.
			ce, ok = &connect.Error{Code: connect.CodeInvalidInput, Msg: ie.Error(), Status: http.StatusBadRequest}, true
		}
		if !ok {
			s.log.Error("oauth callback failed", "request_id", requestID(c), "provider", provider, "err", err.Error())
			ce = &connect.Error{Code: "internal", Msg: "internal error", Status: http.StatusInternalServerError}
		} else {
			s.log.Warn("oauth callback refused", "request_id", requestID(c), "provider", provider, "code", ce.Code, "err", ce.Error())
		}
		if wantsJSON {
			return ce
		}
		return c.Redirect(withQuery(target, "error", ce.Code), http.StatusFound)
	}
	if wantsJSON {
		return c.JSON(fiber.Map{"success": true, "provider": provider, "connection": connect.Info(res.Connection)})
	}
	return c.Redirect(withQuery(target, "success", provider), http.StatusFound)
}

func withQuery(target, k, v string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "/integrations?" + url.Values{k: {v}}.Encode()
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) listConnections(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	list, err := svc.List(c.UserContext(), principalOf(c).TenantID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*connect.ConnectionInfo{}
	}
	return c.JSON(fiber.Map{"items": list})
}

func (s *Server) createConnection(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	var in connect.CredentialsInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := principalOf(c)
	conn, err := svc.ConnectCredentials(c.UserContext(), p.TenantID, p.UserID, c.Params("provider"), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(connect.Info(conn))
}

func (s *Server) getConnection(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	p := principalOf(c)
	st, err := svc.Status(c.UserContext(), p.TenantID, p.UserID, c.Params("provider"))
	if err != nil {
		return err
	}
	if !st.Connected {
		return connect.ErrProviderNotConnected
	}
	return c.JSON(st.Connection)
}

func (s *Server) deleteConnection(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	return s.disconnect(c, svc, principalOf(c), c.Params("provider"))
}

type oauthAppRequest struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes,omitempty"`
}

func (s *Server) putOAuthApp(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	var req oauthAppRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.ClientID) == "" {
		return apiErr(http.StatusBadRequest, "invalid_input", "client_id is required")
	}
	if strings.TrimSpace(req.ClientSecret) == "" {
		return apiErr(http.StatusBadRequest, "invalid_input", "client_secret is required")
	}
	if err := CheckText("client_id", req.ClientID, store.MaxClientID); err != nil {
		return err
	}
	if err := CheckText("client_secret", req.ClientSecret, store.MaxClientID); err != nil {
		return err
	}
	if err := CheckText("scopes", strings.Join(req.Scopes, " "), store.MaxScopes); err != nil {
		return err
	}
	info, err := svc.PutOAuthApp(c.UserContext(), principalOf(c).TenantID, c.Params("provider"), req.ClientID, req.ClientSecret, req.Scopes)
	if err != nil {
		return err
	}
	return c.JSON(info)
}

func (s *Server) getOAuthApp(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	info, err := svc.GetOAuthApp(c.UserContext(), principalOf(c).TenantID, c.Params("provider"))
	if err != nil {
		return err
	}
	return c.JSON(info)
}

func (s *Server) deleteOAuthApp(c *fiber.Ctx) error {
	svc, err := s.connectSvc()
	if err != nil {
		return err
	}
	if err := svc.DeleteOAuthApp(c.UserContext(), principalOf(c).TenantID, c.Params("provider")); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

type webhookRequest struct {
	URL string `json:"url"`
}

func (s *Server) putWebhook(c *fiber.Ctx) error {
	if s.deps.Webhooks == nil {
		return apiErr(http.StatusServiceUnavailable, "webhooks_disabled", "webhooks are not enabled on this host")
	}
	var req webhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := CheckText("url", req.URL, store.MaxWebhookURL); err != nil {
		return err
	}
	secret, err := s.deps.Webhooks.SetTenantWebhook(c.UserContext(), principalOf(c).TenantID, req.URL)
	if err != nil {
		if _, ok := connect.AsError(err); ok {
			return err
		}
		return apiErr(http.StatusBadRequest, "invalid_url", err.Error())
	}
	body := fiber.Map{"url": req.URL}
	if secret != "" {
		body["secret"] = secret
	}
	return c.JSON(body)
}

func (s *Server) getWebhook(c *fiber.Ctx) error {
	if s.deps.Webhooks == nil {
		return apiErr(http.StatusServiceUnavailable, "webhooks_disabled", "webhooks are not enabled on this host")
	}
	ep, err := s.deps.Webhooks.Delivery().GetEndpoint(c.UserContext(), principalOf(c).TenantID)
	if err != nil {
		return err
	}
	return c.JSON(ep)
}

type userRequest struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

func (s *Server) createUser(c *fiber.Ctx) error {
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ID != "" && !userIDRe.MatchString(req.ID) {
		return apiErr(http.StatusBadRequest, "invalid_id", "id must be 1-64 characters of letters, digits and _.:@-")
	}
	if err := CheckText("email", req.Email, store.MaxUserEmail); err != nil {
		return err
	}
	if err := CheckText("name", req.Name, store.MaxUserName); err != nil {
		return err
	}
	u := &store.User{ID: req.ID, Email: req.Email, Name: req.Name}
	err := s.deps.Store.InTenant(c.UserContext(), principalOf(c).TenantID, func(tx store.Tx) error {
		if err := checkUserCap(c.UserContext(), tx, s.deps.Config.Limits.WithDefaults().TenantMaxUsers); err != nil {
			return err
		}
		return tx.CreateUser(c.UserContext(), u)
	})
	if errors.Is(err, store.ErrConflict) {
		return apiErr(http.StatusConflict, "user_exists", "a user with id "+quote(req.ID)+" already exists")
	}
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"id": u.ID, "email": u.Email, "name": u.Name, "created_at": u.CreatedAt})
}
