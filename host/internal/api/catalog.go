package api

import (
	"encoding/json"
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
	items := make([]descriptorView, 0, len(page.Items))
	for _, d := range page.Items {
		items = append(items, s.viewOf(d))
	}
	body := fiber.Map{"items": items, "total": page.Total}
	if page.NextCursor != "" {
		body["next_cursor"] = page.NextCursor
	}
	return c.JSON(body)
}

// descriptorView is a catalog entry as the API shows it: its actions are
// those that run here (with their input schemas), and the upstream action
// names recorded for it that do not run here are apart, for reference.
type descriptorView struct {
	*catalog.Descriptor
	Actions          []RunnableAction `json:"actions"`
	ReferenceActions []string         `json:"reference_actions,omitempty"`
	// Triggers run here (a native plugin's or a piece's); the upstream
	// trigger names that do not are apart, for reference.
	Triggers          []RunnableTrigger `json:"triggers"`
	ReferenceTriggers []string          `json:"reference_triggers,omitempty"`
}

// RunnableTrigger is one trigger that runs here, as the catalog shows it.
type RunnableTrigger struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	// Kind is polling, webhook or app_webhook.
	Kind string `json:"kind"`
	// Implementation is the kind of runtime that runs it: native or piece.
	Implementation string          `json:"implementation"`
	InputSchema    json.RawMessage `json:"input_schema,omitempty"`
}

// runnableTriggers lists the triggers that run for id; none without an
// engine.
func (s *Server) runnableTriggers(id string) []RunnableTrigger {
	return s.runnableTriggersOn(id, false)
}

// runnableTriggersOn lists the triggers that run for id on the
// integrations route, or on the pieces route when preferPiece.
func (s *Server) runnableTriggersOn(id string, preferPiece bool) []RunnableTrigger {
	if s.deps.Exec == nil {
		return nil
	}
	offered := s.deps.Exec.OfferTriggers(id, preferPiece)
	out := make([]RunnableTrigger, 0, len(offered))
	for _, o := range offered {
		name := o.DisplayName
		if name == "" {
			name = o.Name
		}
		out = append(out, RunnableTrigger{Name: o.Name, DisplayName: name, Description: o.Description,
			Kind: o.Kind, Implementation: o.Implementation, InputSchema: o.Input})
	}
	return out
}

// referenceTriggers returns the upstream trigger names not among runnable.
func referenceTriggers(upstream []string, runnable []RunnableTrigger) []string {
	have := make(map[string]bool, len(runnable))
	for _, t := range runnable {
		have[t.Name] = true
	}
	var out []string
	for _, n := range upstream {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

// runnable lists the actions that run for id on the integrations route,
// with their input schemas; none without an engine.
func (s *Server) runnable(id string) []RunnableAction {
	if s.deps.Exec == nil {
		return nil
	}
	offered, _ := s.deps.Exec.Offer(id, false)
	out := make([]RunnableAction, 0, len(offered))
	for _, o := range offered {
		name := o.DisplayName
		if name == "" {
			name = o.Name
		}
		out = append(out, RunnableAction{Name: o.Name, DisplayName: name, Description: o.Description,
			Implementation: o.Implementation, InputSchema: o.Input})
	}
	return out
}

func (s *Server) viewOf(d *catalog.Descriptor) descriptorView {
	v := descriptorView{Descriptor: d, Actions: s.runnable(d.ID)}
	if v.Actions == nil {
		v.Actions = []RunnableAction{}
	}
	v.ReferenceActions = referenceActions(d.Actions, v.Actions)
	v.Triggers = s.runnableTriggers(d.ID)
	if v.Triggers == nil {
		v.Triggers = []RunnableTrigger{}
	}
	v.ReferenceTriggers = referenceTriggers(d.Triggers, v.Triggers)
	return v
}

// referenceActions returns the upstream names not among runnable.
func referenceActions(upstream []string, runnable []RunnableAction) []string {
	have := make(map[string]bool, len(runnable))
	for _, a := range runnable {
		have[a.Name] = true
	}
	var out []string
	for _, n := range upstream {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) catalogGet(c *fiber.Ctx) error {
	d, ok := s.deps.Catalog().Get(c.Params("id"))
	if !ok {
		return apiErr(http.StatusNotFound, "unknown_provider", "no integration "+quote(c.Params("id"))+" in the catalog")
	}
	return c.JSON(s.viewOf(d))
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
	// RunnableActions counts the actions that run here (custom_api_call
	// included); TypedActions names those a native plugin or a piece runs.
	RunnableActions int      `json:"runnable_actions"`
	TypedActions    []string `json:"typed_actions,omitempty"`
	// RunnableTriggers counts the triggers that run here.
	RunnableTriggers int `json:"runnable_triggers"`
}

// actionCounts are the status dashboard's action figures.
type actionCounts struct {
	// Runnable counts every action that runs here, custom_api_call once
	// per connectable provider included.
	Runnable int
	// Typed counts the actions a native plugin or a piece runs.
	Typed int
	// ProvidersWithTyped counts the providers with at least one typed
	// action.
	ProvidersWithTyped int
	// Reference counts the upstream action names the catalog records that
	// do not run here.
	Reference int
}

func (a *actionCounts) add(ps *providerStatus, acts []RunnableAction, reference int) {
	ps.RunnableActions = len(acts)
	for _, x := range acts {
		if x.Implementation == "native" || x.Implementation == "piece" {
			ps.TypedActions = append(ps.TypedActions, x.Name)
		}
	}
	a.Runnable += len(acts)
	a.Typed += len(ps.TypedActions)
	if len(ps.TypedActions) > 0 {
		a.ProvidersWithTyped++
	}
	a.Reference += reference
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
	var counts actionCounts
	runnableTriggers, referenceTriggerNames := 0, 0
	for _, d := range all {
		ps := providerStatus{ID: d.ID, Name: d.Name, Status: "available"}
		if !d.Connectable {
			ps.Status = "not_connectable"
		}
		if st, ok := status[d.ID]; ok {
			ps.Connected = st == store.StatusActive
			ps.Status = st
		}
		acts := s.runnable(d.ID)
		counts.add(&ps, acts, len(referenceActions(d.Actions, acts)))
		trigs := s.runnableTriggers(d.ID)
		ps.RunnableTriggers = len(trigs)
		runnableTriggers += len(trigs)
		referenceTriggerNames += len(referenceTriggers(d.Triggers, trigs))
		providers = append(providers, ps)
	}
	// Plugins serving ids the catalog does not know run actions too.
	if s.deps.Exec != nil {
		for _, id := range s.deps.Exec.Served() {
			if _, ok := cat.Get(id); !ok {
				counts.add(&providerStatus{}, s.runnable(id), 0)
				runnableTriggers += len(s.runnableTriggers(id))
			}
		}
	}
	return c.JSON(fiber.Map{
		"total_integrations":           cat.Len(),
		"native_implementations":       native,
		"connected":                    connected,
		"categories":                   categories,
		"runnable_actions":             counts.Runnable,
		"typed_actions":                counts.Typed,
		"providers_with_typed_actions": counts.ProvidersWithTyped,
		"reference_actions":            counts.Reference,
		"runnable_triggers":            runnableTriggers,
		"reference_triggers":           referenceTriggerNames,
		"providers":                    providers,
	})
}
