package jspiece

import (
	"reflect"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// TestAuthFromAPIKey: an API-key connection reaches a piece as its secret
// text, or, for a piece whose only auth is custom fields with one secret
// (OpenAI's apiKey), as that field; a piece with several secrets gets the
// secret text and is left to say what it misses.
func TestAuthFromAPIKey(t *testing.T) {
	creds := provider.Credentials{Type: "api_key", APIKey: "sk-1", Params: map[string]string{"org": "o1"}}
	for _, tc := range []struct {
		name string
		auth []AuthSpec
		want any
	}{
		{"secret text", []AuthSpec{{Type: "SECRET_TEXT"}},
			map[string]any{"type": "SECRET_TEXT", "secret_text": "sk-1"}},
		{"custom with one secret", []AuthSpec{{Type: "CUSTOM_AUTH", Props: map[string]PropSpec{
			"apiKey": {Type: propSecretText, Required: true}, "baseUrl": {Type: propShortText}}}},
			map[string]any{"type": "CUSTOM_AUTH", "props": map[string]any{"apiKey": "sk-1", "org": "o1"}}},
		{"custom with one key-named field", []AuthSpec{{Type: "CUSTOM_AUTH", Props: map[string]PropSpec{
			"api_key": {Type: propShortText}, "region": {Type: propShortText}}}},
			map[string]any{"type": "CUSTOM_AUTH", "props": map[string]any{"api_key": "sk-1", "org": "o1"}}},
		{"custom with two secrets", []AuthSpec{{Type: "CUSTOM_AUTH", Props: map[string]PropSpec{
			"clientSecret": {Type: propSecretText}, "apiSecret": {Type: propSecretText}}}},
			map[string]any{"type": "SECRET_TEXT", "secret_text": "sk-1"}},
		{"secret text beside custom", []AuthSpec{{Type: "CUSTOM_AUTH", Props: map[string]PropSpec{"apiKey": {Type: propSecretText}}}, {Type: "SECRET_TEXT"}},
			map[string]any{"type": "SECRET_TEXT", "secret_text": "sk-1"}},
	} {
		p := &Piece{spec: Spec{Auth: tc.auth}}
		if got := p.auth(creds); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.name, got, tc.want)
		}
	}
}
