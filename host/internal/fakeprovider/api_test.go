package fakeprovider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

func TestItemsPagination(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{PageSize: 2, Items: 5})
	tok := s.IssueToken(time.Hour)
	var ids []string
	page := "1"
	for page != "" {
		req, _ := http.NewRequest("GET", s.URL+"/api/items?page="+page, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Items []struct{ ID string }
			Next  *int `json:"next_page"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("page %s: %d", page, resp.StatusCode)
		}
		for _, it := range body.Items {
			ids = append(ids, it.ID)
		}
		page = ""
		if body.Next != nil {
			page = strconv.Itoa(*body.Next)
		}
	}
	if strings.Join(ids, ",") != "item_1,item_2,item_3,item_4,item_5" {
		t.Fatalf("items = %v", ids)
	}
	resp, _ := http.Get(s.URL + "/api/items")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated list: %d", resp.StatusCode)
	}
}

func TestEcho(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	tok := s.IssueToken(time.Hour)
	for body, want := range map[string]int{`{"a":[1,2],"b":"x"}`: 200, `{"a":`: 400} {
		req, _ := http.NewRequest("POST", s.URL+"/api/echo", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && string(got) != body) {
			t.Fatalf("echo %s: %d %s", body, resp.StatusCode, got)
		}
	}
}

func TestKeyCheck(t *testing.T) {
	tests := []struct {
		name  string
		q     fakeprovider.Quirks
		setup func(r *http.Request, key string)
		want  int
	}{
		{"bearer by default", fakeprovider.Quirks{}, func(r *http.Request, k string) { r.Header.Set("Authorization", "Bearer "+k) }, 200},
		{"wrong key", fakeprovider.Quirks{}, func(r *http.Request, k string) { r.Header.Set("Authorization", "Bearer x"+k) }, 401},
		{"no key", fakeprovider.Quirks{}, func(r *http.Request, k string) {}, 401},
		{"custom header", fakeprovider.Quirks{APIKeyHeader: "X-API-Key"}, func(r *http.Request, k string) { r.Header.Set("X-API-Key", k) }, 200},
		{"bearer when a custom header is configured", fakeprovider.Quirks{APIKeyHeader: "X-API-Key"}, func(r *http.Request, k string) { r.Header.Set("Authorization", "Bearer "+k) }, 401},
		{"basic, key as user", fakeprovider.Quirks{}, func(r *http.Request, k string) { r.SetBasicAuth(k, "") }, 200},
		{"query", fakeprovider.Quirks{APIKeyQuery: "api_key"}, func(r *http.Request, k string) { r.URL.RawQuery = "api_key=" + k }, 200},
		{"query not configured", fakeprovider.Quirks{}, func(r *http.Request, k string) { r.URL.RawQuery = "api_key=" + k }, 401},
		{"fixed key", fakeprovider.Quirks{APIKey: "sk_test_123"}, func(r *http.Request, k string) { r.Header.Set("Authorization", "Bearer sk_test_123") }, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeprovider.New(t, tc.q)
			req, _ := http.NewRequest("GET", s.URL+"/api/key-check", nil)
			tc.setup(req, s.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.want, body)
			}
			if tc.want == 401 && body["message"] != "Invalid API key" {
				t.Fatalf("body = %v", body)
			}
			rec := s.APIRequests()
			if len(rec) != 1 || (tc.want == 200) != (rec[0].Auth == "api_key") {
				t.Fatalf("recorded %+v", rec)
			}
		})
	}
}

func TestSetQuirksKeepsCredentials(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	id, secret, key := s.ClientID, s.ClientSecret, s.APIKey
	s.SetQuirks(fakeprovider.Quirks{TokenAuth: "basic", ClientID: "other"})
	s.UpdateQuirks(func(q *fakeprovider.Quirks) { q.RotateRefresh = true })
	q := s.Quirks()
	if q.ClientID != id || q.ClientSecret != secret || q.APIKey != key || q.TokenAuth != "basic" || !q.RotateRefresh {
		t.Fatalf("quirks = %+v", q)
	}
	// The new auth style is in force.
	st, body := postToken(t, s, "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id="+id+"&client_secret="+secret, false)
	if st != 401 || body["error"] != "invalid_client" {
		t.Fatalf("%d %v", st, body)
	}
}
