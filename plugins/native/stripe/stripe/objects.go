package stripe

import (
	"net/http"

	"github.com/atomhq/atom/sdk/provider"
)

// op is one Stripe endpoint served as an action. Path may hold {id},
// filled from the input's id.
type op struct {
	Name, Display, Desc string
	Method, Path        string
	// Object is the type of object Stripe returns ("customer", "list",
	// ...); Doc is the API reference page the action follows.
	Object, Doc string
	Required    []string
	Props       P
	// AnyOf lists input fields of which at least one is required.
	AnyOf []string
	List  bool
}

const ref = "https://docs.stripe.com/api/"

// Fields shared by the create and update of an object.
var (
	customerFields = P{
		"address":           address(),
		"balance":           P{"type": "integer"},
		"description":       str(5000),
		"email":             email(),
		"invoice_prefix":    P{"type": "string", "pattern": "^[A-Z0-9]{3,12}$"},
		"invoice_settings":  object(nil, P{"default_payment_method": str(5000), "footer": str(5000)}),
		"metadata":          metadata(),
		"name":              str(256),
		"phone":             str(20),
		"preferred_locales": strList(0, 5000),
		"shipping":          shipping(),
		"tax_exempt":        enum("", "exempt", "none", "reverse"),
		"expand":            expand(),
	}
	paymentIntentFields = P{
		"amount":                      integer(1),
		"currency":                    currency(),
		"customer":                    str(5000),
		"description":                 str(1000),
		"metadata":                    metadata(),
		"payment_method":              str(5000),
		"payment_method_types":        strList(0, 5000),
		"receipt_email":               email(),
		"setup_future_usage":          enum("off_session", "on_session"),
		"shipping":                    shipping(),
		"statement_descriptor":        statementDescriptor(),
		"statement_descriptor_suffix": statementDescriptor(),
		"capture_method":              enum("automatic", "automatic_async", "manual"),
		"expand":                      expand(),
	}
	invoiceFields = P{
		"auto_advance":           boolean(),
		"collection_method":      enum("charge_automatically", "send_invoice"),
		"days_until_due":         integer(0),
		"default_payment_method": str(5000),
		"description":            str(1500),
		"due_date":               integer(0),
		"footer":                 str(5000),
		"metadata":               metadata(),
		"statement_descriptor":   statementDescriptor(),
		"expand":                 expand(),
	}
	subscriptionFields = P{
		"cancel_at_period_end":   boolean(),
		"collection_method":      enum("charge_automatically", "send_invoice"),
		"days_until_due":         integer(0),
		"default_payment_method": str(5000),
		"description":            str(500),
		"metadata":               metadata(),
		"off_session":            boolean(),
		"payment_behavior":       enum("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"),
		"proration_behavior":     enum("always_invoice", "create_prorations", "none"),
		"trial_end":              P{"oneOf": []any{enum("now"), integer(0)}},
		"expand":                 expand(),
	}
	productFields = P{
		"active":               boolean(),
		"description":          str(40000),
		"images":               arrayOf(8, str(2048)),
		"metadata":             metadata(),
		"name":                 P{"type": "string", "minLength": 1, "maxLength": 5000},
		"shippable":            boolean(),
		"statement_descriptor": statementDescriptor(),
		"tax_code":             str(5000),
		"unit_label":           str(12),
		"url":                  str(5000),
		"expand":               expand(),
	}
	priceFields = P{
		"active":              boolean(),
		"lookup_key":          str(200),
		"metadata":            metadata(),
		"nickname":            str(5000),
		"tax_behavior":        enum("exclusive", "inclusive", "unspecified"),
		"transfer_lookup_key": boolean(),
		"expand":              expand(),
	}
	recurring = object([]string{"interval"}, P{
		"interval":       enum("day", "week", "month", "year"),
		"interval_count": intRange(1, 365),
		"usage_type":     enum("licensed", "metered"),
	})
)

// lineItem is a price with a quantity; required lists what the endpoint
// requires of each item (an update may name the item by id instead).
func lineItem(required []string, extra P) P {
	return object(required, with(P{"price": str(5000), "quantity": integer(0), "metadata": metadata()}, extra))
}

// ops are the Stripe actions beyond test_connection and get_balance, in
// the order the manifest lists them.
var ops = []op{
	// Customers: https://docs.stripe.com/api/customers
	{Name: "create_customer", Display: "Create customer", Desc: "Creates a customer. Retrying the same execution does not create a second one.",
		Method: http.MethodPost, Path: "/v1/customers", Object: "customer", Doc: ref + "customers/create",
		Props: with(customerFields, P{"payment_method": str(5000), "test_clock": str(5000)})},
	{Name: "get_customer", Display: "Get customer", Desc: "Retrieves a customer by id (a deleted customer comes back with deleted: true).",
		Method: http.MethodGet, Path: "/v1/customers/{id}", Object: "customer", Doc: ref + "customers/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_customer", Display: "Update customer", Desc: "Updates the fields given; fields left out keep their value.",
		Method: http.MethodPost, Path: "/v1/customers/{id}", Object: "customer", Doc: ref + "customers/update",
		Required: []string{"id"}, Props: with(customerFields, P{"id": ident(), "default_source": str(500)})},
	{Name: "delete_customer", Display: "Delete customer", Desc: "Deletes a customer and cancels their active subscriptions.",
		Method: http.MethodDelete, Path: "/v1/customers/{id}", Object: "customer", Doc: ref + "customers/delete",
		Required: []string{"id"}, Props: P{"id": ident()}},
	{Name: "list_customers", Display: "List customers", Desc: "Lists customers, newest first, one page at a time.",
		Method: http.MethodGet, Path: "/v1/customers", Object: "list", Doc: ref + "customers/list", List: true,
		Props: listParams(true, P{"email": email(), "test_clock": str(5000)})},

	// Payment intents: https://docs.stripe.com/api/payment_intents
	{Name: "create_payment_intent", Display: "Create payment intent", Desc: "Creates a payment intent for an amount in the currency's smallest unit.",
		Method: http.MethodPost, Path: "/v1/payment_intents", Object: "payment_intent", Doc: ref + "payment_intents/create",
		Required: []string{"amount", "currency"}, Props: with(paymentIntentFields, P{
			"automatic_payment_methods": object([]string{"enabled"}, P{"enabled": boolean(), "allow_redirects": enum("always", "never")}),
			"confirm":                   boolean(),
			"confirmation_method":       enum("automatic", "manual"),
			"off_session":               boolean(),
			"return_url":                uri(),
		})},
	{Name: "get_payment_intent", Display: "Get payment intent", Desc: "Retrieves a payment intent by id.",
		Method: http.MethodGet, Path: "/v1/payment_intents/{id}", Object: "payment_intent", Doc: ref + "payment_intents/retrieve",
		Required: []string{"id"}, Props: idOnly(P{"client_secret": str(5000)})},
	{Name: "update_payment_intent", Display: "Update payment intent", Desc: "Updates a payment intent that is not yet confirmed or captured.",
		Method: http.MethodPost, Path: "/v1/payment_intents/{id}", Object: "payment_intent", Doc: ref + "payment_intents/update",
		Required: []string{"id"}, Props: with(paymentIntentFields, P{"id": ident(), "setup_future_usage": enum("", "off_session", "on_session")})},
	{Name: "confirm_payment_intent", Display: "Confirm payment intent", Desc: "Confirms that the customer intends to pay with the given payment method.",
		Method: http.MethodPost, Path: "/v1/payment_intents/{id}/confirm", Object: "payment_intent", Doc: ref + "payment_intents/confirm",
		Required: []string{"id"}, Props: P{
			"id": ident(), "payment_method": str(5000), "receipt_email": email(), "return_url": uri(), "off_session": boolean(),
			"capture_method": enum("automatic", "automatic_async", "manual"), "setup_future_usage": enum("", "off_session", "on_session"),
			"expand": expand(),
		}},
	{Name: "capture_payment_intent", Display: "Capture payment intent", Desc: "Captures the funds of a payment intent in requires_capture.",
		Method: http.MethodPost, Path: "/v1/payment_intents/{id}/capture", Object: "payment_intent", Doc: ref + "payment_intents/capture",
		Required: []string{"id"}, Props: P{
			"id": ident(), "amount_to_capture": integer(1), "final_capture": boolean(), "metadata": metadata(),
			"statement_descriptor": statementDescriptor(), "statement_descriptor_suffix": statementDescriptor(), "expand": expand(),
		}},
	{Name: "cancel_payment_intent", Display: "Cancel payment intent", Desc: "Cancels a payment intent that has not succeeded.",
		Method: http.MethodPost, Path: "/v1/payment_intents/{id}/cancel", Object: "payment_intent", Doc: ref + "payment_intents/cancel",
		Required: []string{"id"}, Props: P{
			"id": ident(), "cancellation_reason": enum("abandoned", "duplicate", "fraudulent", "requested_by_customer"), "expand": expand(),
		}},
	{Name: "list_payment_intents", Display: "List payment intents", Desc: "Lists payment intents, newest first, optionally for one customer.",
		Method: http.MethodGet, Path: "/v1/payment_intents", Object: "list", Doc: ref + "payment_intents/list", List: true,
		Props: listParams(true, P{"customer": str(5000)})},

	// Charges: https://docs.stripe.com/api/charges
	{Name: "create_charge", Display: "Create charge", Desc: "Charges a source or customer directly (the legacy Charges API; prefer payment intents).",
		Method: http.MethodPost, Path: "/v1/charges", Object: "charge", Doc: ref + "charges/create",
		Required: []string{"amount", "currency"}, AnyOf: []string{"customer", "source"}, Props: P{
			"amount": integer(1), "currency": currency(), "customer": str(500), "source": str(5000),
			"description": str(40000), "capture": boolean(), "receipt_email": email(), "metadata": metadata(),
			"shipping": shipping(), "statement_descriptor": statementDescriptor(), "statement_descriptor_suffix": statementDescriptor(),
			"transfer_group": str(5000), "expand": expand(),
		}},
	{Name: "get_charge", Display: "Get charge", Desc: "Retrieves a charge by id.",
		Method: http.MethodGet, Path: "/v1/charges/{id}", Object: "charge", Doc: ref + "charges/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_charge", Display: "Update charge", Desc: "Updates a charge's description, metadata, receipt email, shipping or fraud report.",
		Method: http.MethodPost, Path: "/v1/charges/{id}", Object: "charge", Doc: ref + "charges/update",
		Required: []string{"id"}, Props: P{
			"id": ident(), "customer": str(5000), "description": str(40000), "metadata": metadata(), "receipt_email": str(5000),
			"fraud_details": object([]string{"user_report"}, P{"user_report": enum("", "fraudulent", "safe")}),
			"shipping":      shipping(), "transfer_group": str(5000), "expand": expand(),
		}},
	{Name: "list_charges", Display: "List charges", Desc: "Lists charges, newest first, optionally for one customer or payment intent.",
		Method: http.MethodGet, Path: "/v1/charges", Object: "list", Doc: ref + "charges/list", List: true,
		Props: listParams(true, P{"customer": str(5000), "payment_intent": str(5000), "transfer_group": str(5000)})},

	// Refunds: https://docs.stripe.com/api/refunds
	{Name: "create_refund", Display: "Create refund", Desc: "Refunds a charge or payment intent, in full or for an amount.",
		Method: http.MethodPost, Path: "/v1/refunds", Object: "refund", Doc: ref + "refunds/create",
		AnyOf: []string{"charge", "payment_intent"}, Props: P{
			"charge": str(5000), "payment_intent": str(5000), "amount": integer(1),
			"reason":   enum("duplicate", "fraudulent", "requested_by_customer"),
			"metadata": metadata(), "refund_application_fee": boolean(), "reverse_transfer": boolean(),
			"instructions_email": email(), "expand": expand(),
		}},
	{Name: "get_refund", Display: "Get refund", Desc: "Retrieves a refund by id.",
		Method: http.MethodGet, Path: "/v1/refunds/{id}", Object: "refund", Doc: ref + "refunds/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_refund", Display: "Update refund", Desc: "Updates a refund's metadata.",
		Method: http.MethodPost, Path: "/v1/refunds/{id}", Object: "refund", Doc: ref + "refunds/update",
		Required: []string{"id"}, Props: P{"id": ident(), "metadata": metadata(), "expand": expand()}},
	{Name: "cancel_refund", Display: "Cancel refund", Desc: "Cancels a refund that requires action.",
		Method: http.MethodPost, Path: "/v1/refunds/{id}/cancel", Object: "refund", Doc: ref + "refunds/cancel",
		Required: []string{"id"}, Props: P{"id": ident(), "expand": expand()}},
	{Name: "list_refunds", Display: "List refunds", Desc: "Lists refunds, newest first, optionally for one charge or payment intent.",
		Method: http.MethodGet, Path: "/v1/refunds", Object: "list", Doc: ref + "refunds/list", List: true,
		Props: listParams(true, P{"charge": str(5000), "payment_intent": str(5000)})},

	// Invoices: https://docs.stripe.com/api/invoices
	{Name: "create_invoice", Display: "Create invoice", Desc: "Creates a draft invoice for a customer.",
		Method: http.MethodPost, Path: "/v1/invoices", Object: "invoice", Doc: ref + "invoices/create",
		Required: []string{"customer"}, Props: with(invoiceFields, P{
			"customer": ident(), "subscription": str(5000), "currency": currency(),
			"pending_invoice_items_behavior": enum("exclude", "include"),
		})},
	{Name: "get_invoice", Display: "Get invoice", Desc: "Retrieves an invoice by id.",
		Method: http.MethodGet, Path: "/v1/invoices/{id}", Object: "invoice", Doc: ref + "invoices/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_invoice", Display: "Update invoice", Desc: "Updates a draft invoice (or the few fields an open one allows).",
		Method: http.MethodPost, Path: "/v1/invoices/{id}", Object: "invoice", Doc: ref + "invoices/update",
		Required: []string{"id"}, Props: with(invoiceFields, P{"id": ident()})},
	{Name: "delete_invoice", Display: "Delete draft invoice", Desc: "Deletes a draft invoice; finalized invoices are voided instead.",
		Method: http.MethodDelete, Path: "/v1/invoices/{id}", Object: "invoice", Doc: ref + "invoices/delete",
		Required: []string{"id"}, Props: P{"id": ident()}},
	{Name: "finalize_invoice", Display: "Finalize invoice", Desc: "Finalizes a draft invoice so it can be paid.",
		Method: http.MethodPost, Path: "/v1/invoices/{id}/finalize", Object: "invoice", Doc: ref + "invoices/finalize",
		Required: []string{"id"}, Props: P{"id": ident(), "auto_advance": boolean(), "expand": expand()}},
	{Name: "pay_invoice", Display: "Pay invoice", Desc: "Attempts payment of an open invoice now, or marks it paid out of band.",
		Method: http.MethodPost, Path: "/v1/invoices/{id}/pay", Object: "invoice", Doc: ref + "invoices/pay",
		Required: []string{"id"}, Props: P{
			"id": ident(), "forgive": boolean(), "off_session": boolean(), "paid_out_of_band": boolean(),
			"payment_method": str(5000), "source": str(5000), "expand": expand(),
		}},
	{Name: "send_invoice", Display: "Send invoice", Desc: "Emails an open invoice to the customer.",
		Method: http.MethodPost, Path: "/v1/invoices/{id}/send", Object: "invoice", Doc: ref + "invoices/send",
		Required: []string{"id"}, Props: P{"id": ident(), "expand": expand()}},
	{Name: "void_invoice", Display: "Void invoice", Desc: "Voids a finalized invoice.",
		Method: http.MethodPost, Path: "/v1/invoices/{id}/void", Object: "invoice", Doc: ref + "invoices/void",
		Required: []string{"id"}, Props: P{"id": ident(), "expand": expand()}},
	{Name: "list_invoices", Display: "List invoices", Desc: "Lists invoices, newest first, by customer, subscription or status.",
		Method: http.MethodGet, Path: "/v1/invoices", Object: "list", Doc: ref + "invoices/list", List: true,
		Props: listParams(true, P{
			"customer": str(5000), "subscription": str(5000),
			"status":            enum("draft", "open", "paid", "uncollectible", "void"),
			"collection_method": enum("charge_automatically", "send_invoice"),
			"due_date":          rangeQuery(),
		})},

	// Subscriptions: https://docs.stripe.com/api/subscriptions
	{Name: "create_subscription", Display: "Create subscription", Desc: "Subscribes a customer to up to 20 prices.",
		Method: http.MethodPost, Path: "/v1/subscriptions", Object: "subscription", Doc: ref + "subscriptions/create",
		Required: []string{"customer", "items"}, Props: with(subscriptionFields, P{
			"customer":          ident(),
			"items":             with(arrayOf(20, lineItem([]string{"price"}, nil)), P{"minItems": 1}),
			"currency":          currency(),
			"trial_period_days": integer(0),
		})},
	{Name: "get_subscription", Display: "Get subscription", Desc: "Retrieves a subscription by id.",
		Method: http.MethodGet, Path: "/v1/subscriptions/{id}", Object: "subscription", Doc: ref + "subscriptions/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_subscription", Display: "Update subscription", Desc: "Changes a subscription's items, trial, cancellation at period end or metadata.",
		Method: http.MethodPost, Path: "/v1/subscriptions/{id}", Object: "subscription", Doc: ref + "subscriptions/update",
		Required: []string{"id"}, Props: with(subscriptionFields, P{
			"id":    ident(),
			"items": arrayOf(20, lineItem(nil, P{"id": str(5000), "deleted": boolean(), "clear_usage": boolean()})),
		})},
	{Name: "cancel_subscription", Display: "Cancel subscription", Desc: "Cancels a subscription immediately.",
		Method: http.MethodDelete, Path: "/v1/subscriptions/{id}", Object: "subscription", Doc: ref + "subscriptions/cancel",
		Required: []string{"id"}, Props: P{
			"id": ident(), "invoice_now": boolean(), "prorate": boolean(),
			"cancellation_details": object(nil, P{
				"comment":  str(5000),
				"feedback": enum("", "customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused"),
			}),
			"expand": expand(),
		}},
	{Name: "list_subscriptions", Display: "List subscriptions", Desc: "Lists subscriptions, newest first, by customer, price or status (default: not canceled).",
		Method: http.MethodGet, Path: "/v1/subscriptions", Object: "list", Doc: ref + "subscriptions/list", List: true,
		Props: listParams(true, P{
			"customer": str(5000), "price": str(5000),
			"status":            enum("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"),
			"collection_method": enum("charge_automatically", "send_invoice"),
		})},

	// Products: https://docs.stripe.com/api/products
	{Name: "create_product", Display: "Create product", Desc: "Creates a product, optionally with its default price.",
		Method: http.MethodPost, Path: "/v1/products", Object: "product", Doc: ref + "products/create",
		Required: []string{"name"}, Props: with(productFields, P{
			"id": str(5000),
			"default_price_data": object([]string{"currency"}, P{
				"currency": currency(), "unit_amount": integer(0), "unit_amount_decimal": P{"type": "string", "pattern": `^\d+(\.\d{1,12})?$`},
				"recurring":    object([]string{"interval"}, P{"interval": enum("day", "week", "month", "year"), "interval_count": intRange(1, 365)}),
				"tax_behavior": enum("exclusive", "inclusive", "unspecified"),
			}),
		})},
	{Name: "get_product", Display: "Get product", Desc: "Retrieves a product by id.",
		Method: http.MethodGet, Path: "/v1/products/{id}", Object: "product", Doc: ref + "products/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_product", Display: "Update product", Desc: "Updates the fields given; fields left out keep their value.",
		Method: http.MethodPost, Path: "/v1/products/{id}", Object: "product", Doc: ref + "products/update",
		Required: []string{"id"}, Props: with(productFields, P{"id": ident(), "default_price": str(5000)})},
	{Name: "delete_product", Display: "Delete product", Desc: "Deletes a product that has no prices.",
		Method: http.MethodDelete, Path: "/v1/products/{id}", Object: "product", Doc: ref + "products/delete",
		Required: []string{"id"}, Props: P{"id": ident()}},
	{Name: "list_products", Display: "List products", Desc: "Lists products, newest first.",
		Method: http.MethodGet, Path: "/v1/products", Object: "list", Doc: ref + "products/list", List: true,
		Props: listParams(true, P{"active": boolean(), "ids": strList(100, 5000), "shippable": boolean(), "url": str(5000)})},

	// Prices: https://docs.stripe.com/api/prices
	{Name: "create_price", Display: "Create price", Desc: "Creates a one-time or recurring price for a product.",
		Method: http.MethodPost, Path: "/v1/prices", Object: "price", Doc: ref + "prices/create",
		Required: []string{"currency"}, AnyOf: []string{"product", "product_data"}, Props: with(priceFields, P{
			"currency": currency(), "product": str(5000),
			"product_data": object([]string{"name"}, P{
				"name": str(5000), "active": boolean(), "metadata": metadata(), "statement_descriptor": statementDescriptor(),
				"tax_code": str(5000), "unit_label": str(12),
			}),
			"unit_amount":         integer(0),
			"unit_amount_decimal": P{"type": "string", "pattern": `^\d+(\.\d{1,12})?$`},
			"recurring":           recurring,
			"billing_scheme":      enum("per_unit", "tiered"),
		})},
	{Name: "get_price", Display: "Get price", Desc: "Retrieves a price by id.",
		Method: http.MethodGet, Path: "/v1/prices/{id}", Object: "price", Doc: ref + "prices/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "update_price", Display: "Update price", Desc: "Updates a price's metadata, nickname, lookup key or active flag (amounts cannot change).",
		Method: http.MethodPost, Path: "/v1/prices/{id}", Object: "price", Doc: ref + "prices/update",
		Required: []string{"id"}, Props: with(priceFields, P{"id": ident()})},
	{Name: "list_prices", Display: "List prices", Desc: "Lists prices, newest first, by product, currency, type or lookup keys.",
		Method: http.MethodGet, Path: "/v1/prices", Object: "list", Doc: ref + "prices/list", List: true,
		Props: listParams(true, P{
			"active": boolean(), "currency": currency(), "product": str(5000),
			"type": enum("one_time", "recurring"), "lookup_keys": strList(10, 200),
			"recurring": object(nil, P{"interval": enum("day", "week", "month", "year"), "usage_type": enum("licensed", "metered")}),
		})},

	// Checkout sessions: https://docs.stripe.com/api/checkout/sessions
	{Name: "create_checkout_session", Display: "Create checkout session", Desc: "Creates a Stripe-hosted (or embedded) Checkout page; send the customer to its url.",
		Method: http.MethodPost, Path: "/v1/checkout/sessions", Object: "checkout.session", Doc: ref + "checkout/sessions/create",
		Required: []string{"mode"}, Props: P{
			"mode":        enum("payment", "setup", "subscription"),
			"success_url": uri(), "cancel_url": uri(), "return_url": uri(),
			"ui_mode": enum("embedded", "hosted"),
			"line_items": arrayOf(100, lineItem([]string{"price"}, P{"adjustable_quantity": object([]string{"enabled"}, P{
				"enabled": boolean(), "maximum": integer(1), "minimum": integer(0),
			})})),
			"customer": str(5000), "customer_email": email(), "client_reference_id": str(200),
			"currency": currency(), "metadata": metadata(), "allow_promotion_codes": boolean(),
			"expires_at": integer(0), "payment_method_types": strList(0, 5000),
			"billing_address_collection": enum("auto", "required"),
			"customer_creation":          enum("always", "if_required"),
			"submit_type":                enum("auto", "book", "donate", "pay"),
			"locale":                     str(20),
			"payment_intent_data": object(nil, P{
				"capture_method": enum("automatic", "automatic_async", "manual"), "description": str(1000),
				"metadata": metadata(), "receipt_email": email(), "setup_future_usage": enum("off_session", "on_session"),
				"statement_descriptor": statementDescriptor(), "statement_descriptor_suffix": statementDescriptor(),
			}),
			"subscription_data": object(nil, P{
				"description": str(500), "metadata": metadata(), "trial_period_days": integer(1),
			}),
			"expand": expand(),
		}},
	{Name: "get_checkout_session", Display: "Get checkout session", Desc: "Retrieves a checkout session by id.",
		Method: http.MethodGet, Path: "/v1/checkout/sessions/{id}", Object: "checkout.session", Doc: ref + "checkout/sessions/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "expire_checkout_session", Display: "Expire checkout session", Desc: "Expires an open checkout session so it can no longer be paid.",
		Method: http.MethodPost, Path: "/v1/checkout/sessions/{id}/expire", Object: "checkout.session", Doc: ref + "checkout/sessions/expire",
		Required: []string{"id"}, Props: P{"id": ident(), "expand": expand()}},
	{Name: "list_checkout_sessions", Display: "List checkout sessions", Desc: "Lists checkout sessions, newest first.",
		Method: http.MethodGet, Path: "/v1/checkout/sessions", Object: "list", Doc: ref + "checkout/sessions/list", List: true,
		Props: listParams(true, P{
			"customer": str(5000), "payment_intent": str(5000), "payment_link": str(5000), "subscription": str(5000),
			"status":           enum("complete", "expired", "open"),
			"customer_details": object([]string{"email"}, P{"email": email()}),
		})},

	// Events: https://docs.stripe.com/api/events
	{Name: "get_event", Display: "Get event", Desc: "Retrieves an event of the last 30 days by id.",
		Method: http.MethodGet, Path: "/v1/events/{id}", Object: "event", Doc: ref + "events/retrieve",
		Required: []string{"id"}, Props: idOnly(nil)},
	{Name: "list_events", Display: "List events", Desc: "Lists events of the last 30 days, newest first, by type.",
		Method: http.MethodGet, Path: "/v1/events", Object: "list", Doc: ref + "events/list", List: true,
		Props: listParams(true, P{"type": str(5000), "types": strList(20, 5000), "delivery_success": boolean()})},
}

// inputSchema is o's closed input schema.
func (o op) inputSchema() P {
	s := object(append([]string(nil), o.Required...), o.Props)
	var all []any
	if o.List {
		// Stripe pages forwards or backwards, not both at once: with
		// starting_after, ending_before is refused by name.
		s["dependentSchemas"] = P{"starting_after": P{"properties": P{"ending_before": false}}}
	}
	if len(o.AnyOf) > 0 {
		var any_ []any
		for _, f := range o.AnyOf {
			any_ = append(any_, P{"required": []string{f}})
		}
		all = append(all, P{"anyOf": any_})
	}
	if len(all) > 0 {
		s["allOf"] = all
	}
	return s
}

// outputSchema describes what o returns: a page of objects for a list,
// else the object (deleted: true for a delete).
func (o op) outputSchema() P {
	if o.List {
		return P{"type": "object", "required": []string{"object", "data", "has_more"}, "properties": P{
			"object":              P{"const": "list"},
			"data":                P{"type": "array", "items": P{"type": "object"}},
			"has_more":            P{"type": "boolean"},
			"next_starting_after": P{"type": "string"},
			"next_ending_before":  P{"type": "string"},
		}}
	}
	props := P{"id": P{"type": "string"}, "object": P{"const": o.Object}}
	if o.Method == http.MethodDelete && o.Object != "subscription" {
		props["deleted"] = P{"const": true}
	}
	return P{"type": "object", "required": []string{"id", "object"}, "properties": props}
}

func (o op) action() provider.ActionDef {
	return provider.ActionDef{
		Name:        o.Name,
		DisplayName: o.Display,
		Description: o.Desc + " Follows " + o.Doc,
		Input:       mustJSON(o.inputSchema()),
		Output:      mustJSON(o.outputSchema()),
		Handle:      o.call,
	}
}

// Actions lists every action's name, Stripe's object type it returns and
// the API reference page it follows, in manifest order (test_connection
// and get_balance first).
func Actions() []ActionInfo {
	out := []ActionInfo{
		{Name: "test_connection", Method: http.MethodGet, Path: "/v1/balance", Doc: ref + "balance/balance_retrieve"},
		{Name: "get_balance", Method: http.MethodGet, Path: "/v1/balance", Object: "balance", Doc: ref + "balance/balance_retrieve"},
	}
	for _, o := range ops {
		out = append(out, ActionInfo{Name: o.Name, Method: o.Method, Path: o.Path, Object: o.Object, Doc: o.Doc})
	}
	return out
}

// ActionInfo describes one action for documentation and tests. Object is
// empty for test_connection, whose output is {ok, livemode}.
type ActionInfo struct {
	Name, Method, Path, Object, Doc string
}
