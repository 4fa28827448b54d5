package provider_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestListOutput(t *testing.T) {
	for _, tc := range []struct {
		items []json.RawMessage
		want  string
	}{
		{nil, `{"tasks":[]}`},
		{[]json.RawMessage{}, `{"tasks":[]}`},
		{[]json.RawMessage{json.RawMessage(`{"id":"1"}`)}, `{"tasks":[{"id":"1"}]}`},
	} {
		b, err := json.Marshal(provider.ListOutput("tasks", tc.items))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("ListOutput(%v) = %s, want %s", tc.items, b, tc.want)
		}
	}
}

// A list action decodes the API's page and hands back its items under its
// own key, with the next-page cursor beside them when there is one.
func ExampleListOutput() {
	var page struct {
		Results []json.RawMessage `json:"results"`
		Next    string            `json:"next"`
	}
	_ = json.Unmarshal([]byte(`{"results":null,"next":"c2"}`), &page)
	out := provider.ListOutput("records", page.Results)
	if page.Next != "" {
		out["next_cursor"] = page.Next
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	// Output: {"next_cursor":"c2","records":[]}
}
