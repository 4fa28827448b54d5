package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestDecodeGoogleError(t *testing.T) {
	cases := []struct {
		name, body            string
		msg, code, typ, field string
	}{
		{"parameter", `{"error":{"code":404,"message":"File not found: abc.","errors":[{"domain":"global","reason":"notFound","message":"File not found: abc.","locationType":"parameter","location":"fileId"}],"status":"NOT_FOUND"}}`,
			"File not found: abc.", "NOT_FOUND", "notFound", "fileId"},
		{"header location ignored", `{"error":{"code":401,"message":"Invalid Credentials","errors":[{"reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}`,
			"Invalid Credentials", "UNAUTHENTICATED", "authError", ""},
		{"numeric code only", `{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"reason":"rateLimitExceeded"}]}}`,
			"Rate Limit Exceeded", "403", "rateLimitExceeded", ""},
		{"oauth pair", `{"error":"invalid_grant","error_description":"Bad Request"}`,
			"Bad Request", "invalid_grant", "", ""},
		{"text", `Not Found`, "Not Found", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &provider.HTTPError{Status: 400}
			provider.DecodeGoogleError(e, []byte(tc.body))
			if e.Message != tc.msg || e.Code != tc.code || e.Type != tc.typ || e.Field != tc.field {
				t.Fatalf("got message %q code %q type %q field %q", e.Message, e.Code, e.Type, e.Field)
			}
		})
	}
}

func ExampleDecodeGoogleError() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":404,"message":"File not found: abc.","status":"NOT_FOUND",
			"errors":[{"reason":"notFound","location":"fileId","locationType":"parameter"}]}}`)
	}))
	defer api.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: api.URL})
	c := provider.Client(ctx, provider.HTTPOptions{DecodeError: provider.DecodeGoogleError})
	err := c.GetJSON(ctx, "/drive/v3/files/abc", nil, nil)
	d := provider.Diagnostics(err)[0]
	fmt.Println(d.Status, d.Field, d.Summary)
	// Output: 404 fileId File not found: abc.
}
