// Command mailchimp is the Mailchimp Marketing API piece. The data center
// comes from the API key's suffix ("…-us21" → https://us21.api.mailchimp.com/3.0)
// or, for OAuth connections, from the connection's "dc".
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/mailchimp.wasm ./plugins/pieces/mailchimp
package main

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "mailchimp", Name: "Mailchimp", Version: "1.0.0",
		Description: "Manage Mailchimp audiences.",
		Categories:  []string{"marketing"},
		Auth:        piece.AuthSpec{Kind: "oauth2"},
		Hosts:       []string{"*.api.mailchimp.com"},
		Actions: []piece.Action{{
			Name: "add_member_to_list", DisplayName: "Add member to an audience",
			Description: "Add a contact to an audience (list); an existing contact is updated when update_existing is set.",
			Props: []piece.Prop{
				piece.ShortText("list_id", "Audience ID").Required(),
				piece.ShortText("email", "Email").Required(),
				piece.StaticDropdown("status", "Status",
					piece.Option{Label: "Subscribed", Value: "subscribed"}, piece.Option{Label: "Pending", Value: "pending"},
					piece.Option{Label: "Unsubscribed", Value: "unsubscribed"}, piece.Option{Label: "Transactional", Value: "transactional"}).WithDefault("subscribed"),
				piece.Object("merge_fields", "Merge fields", piece.ShortText("FNAME", "First name"), piece.ShortText("LNAME", "Last name")),
				piece.Array("tags", "Tags", piece.ShortText("tag", "Tag")),
				piece.Checkbox("update_existing", "Update existing member"),
			},
			Run: addMember,
		}},
	}))
}

var dcPattern = regexp.MustCompile(`^[a-z]+[0-9]+$`)

// endpoint returns the API root and the Authorization header value.
func endpoint(cr piece.Credentials) (string, string, error) {
	var dc, auth string
	switch {
	case cr.AccessToken != "":
		dc = cr.Lookup("dc")
		auth = "Bearer " + cr.AccessToken
	default:
		key := cr.Secret()
		i := strings.LastIndex(key, "-")
		if i < 0 {
			return "", "", piece.Errorf("the Mailchimp API key has no data-center suffix (…-us21)")
		}
		dc = key[i+1:]
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("atom:"+key))
	}
	if !dcPattern.MatchString(dc) {
		return "", "", piece.Errorf("invalid Mailchimp data center %q", dc)
	}
	return "https://" + dc + ".api.mailchimp.com/3.0", auth, nil
}

func addMember(c *piece.Context) (any, error) {
	var in struct {
		ListID         string         `json:"list_id"`
		Email          string         `json:"email"`
		Status         string         `json:"status"`
		MergeFields    map[string]any `json:"merge_fields"`
		Tags           []string       `json:"tags"`
		UpdateExisting bool           `json:"update_existing"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.ListID == "" || in.Email == "" {
		return nil, piece.FieldError("email", "list_id and email are required")
	}
	if in.Status == "" {
		in.Status = "subscribed"
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	base, auth, err := endpoint(cr)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"email_address": in.Email, "status": in.Status}
	if len(in.MergeFields) > 0 {
		body["merge_fields"] = in.MergeFields
	}
	if len(in.Tags) > 0 {
		body["tags"] = in.Tags
	}
	method, path := "POST", "/lists/"+url.PathEscape(in.ListID)+"/members"
	if in.UpdateExisting {
		// PUT /lists/{id}/members/{md5(lowercase email)} adds or updates.
		sum := md5.Sum([]byte(strings.ToLower(in.Email)))
		method, path = "PUT", path+"/"+hex.EncodeToString(sum[:])
		body["status_if_new"] = in.Status
	}
	resp, err := c.JSON(method, base+path, map[string]string{"Authorization": auth}, body)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(resp.Bytes(), &p) == nil && p.Title != "" {
			return nil, &piece.Error{Summary: "Mailchimp: " + p.Title, Detail: p.Detail, Status: resp.Status}
		}
		return nil, resp.Fail("Mailchimp request failed")
	}
	return resp.Output()
}

func main() {}
