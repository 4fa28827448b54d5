package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/store"
)

// TestDocumentedLimits checks that the limits the OpenAPI document
// publishes are the ones the API and the store apply (store's limits are
// in turn checked against the PostgreSQL columns).
func TestDocumentedLimits(t *testing.T) {
	b, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"components.schemas.CreateTenantRequest.properties.name":                     store.MaxTenantName,
		"components.schemas.CreateAPIKeyRequest.properties.name":                     store.MaxAPIKeyName,
		"components.schemas.CreateUserRequest.properties.email":                      store.MaxUserEmail,
		"components.schemas.CreateUserRequest.properties.name":                       store.MaxUserName,
		"components.schemas.WebhookRequest.properties.url":                           store.MaxWebhookURL,
		"components.schemas.OAuthAppRequest.properties.client_id":                    store.MaxClientID,
		"components.schemas.CredentialsInput.properties.params.additionalProperties": store.MaxParamValue,
		"components.parameters.IdempotencyKey.schema":                                store.MaxIdempotencyKey,
	} {
		v := doc
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		m, _ := v.(map[string]any)
		if got, _ := m["maxLength"].(float64); int(got) != want {
			t.Errorf("%s: maxLength %v, the API and the store apply %d", path, m["maxLength"], want)
		}
	}
}
