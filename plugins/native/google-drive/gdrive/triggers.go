package gdrive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// pollPages bounds the list pages one poll reads; the next poll goes on
// from the newest creation time seen.
const pollPages = 5

// The new-file trigger polls files.list with
// q="'<folder>' in parents and trashed = false and createdTime >= '<t>'",
// orderBy=createdTime, 100 a page. Its state is the newest createdTime
// seen (RFC 3339); the first poll only records the time it ran. Drive
// compares times to the second and lists shared drives only when asked,
// which the trigger does.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "new_file_in_folder",
		DisplayName: "New file in folder",
		Description: "A file was created in (or uploaded to) a folder.",
		Kind:        provider.TriggerPolling,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["folder_id"],"properties":{
			"folder_id":{"type":"string","minLength":1,"maxLength":200,"description":"The folder's id (root for My Drive's top level)."},
			"include_folders":{"type":"boolean","description":"Also report new subfolders."}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["id","name","mimeType","createdTime"],"properties":{
			"id":{"type":"string"},"name":{"type":"string"},"mimeType":{"type":"string"},"createdTime":{"type":"string"},
			"modifiedTime":{"type":"string"},"parents":{"type":"array","items":{"type":"string"}},"size":{"type":"string"},"webViewLink":{"type":"string"}}}`),
		Sample: json.RawMessage(`{"id":"1A2b3C4d5E6f","name":"Quarterly report.pdf","mimeType":"application/pdf","createdTime":"2026-01-02T03:04:05.000Z","modifiedTime":"2026-01-02T03:04:05.000Z","parents":["0BwwA4oUTeiV1TGRPeTVjaWRDY1E"],"size":"48213","webViewLink":"https://drive.google.com/file/d/1A2b3C4d5E6f/view"}`),
		Poll:   pollNewFiles,
	})
}

type newFileInput struct {
	FolderID       string `json:"folder_id"`
	IncludeFolders bool   `json:"include_folders"`
}

type newFileState struct {
	Since time.Time `json:"since"`
}

type driveFile struct {
	ID          string    `json:"id"`
	MimeType    string    `json:"mimeType"`
	CreatedTime time.Time `json:"createdTime"`
}

func pollNewFiles(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in newFileInput
	_ = json.Unmarshal(req.Input, &in)
	if in.FolderID == "" {
		return provider.PollResult{}, provider.UserError("folder_id", "is required")
	}
	var st newFileState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("google-drive: poll state: %w", err)
		}
	}
	if st.Since.IsZero() {
		st.Since = time.Now().UTC().Truncate(time.Second)
		raw, err := json.Marshal(st)
		return provider.PollResult{State: raw}, err
	}
	query := quote(in.FolderID) + " in parents and trashed = false and createdTime >= " + quote(st.Since.UTC().Format(time.RFC3339))
	if !in.IncludeFolders {
		query += " and mimeType != " + quote(FolderMIME)
	}
	hc := provider.Client(ctx, httpOptions)
	var out provider.PollResult
	next := st.Since
	token := ""
	for page := 0; page < pollPages; page++ {
		q := url.Values{"q": {query}, "orderBy": {"createdTime"}, "pageSize": {"100"},
			"fields":            {"nextPageToken,files(id,name,mimeType,createdTime,modifiedTime,parents,size,webViewLink)"},
			"supportsAllDrives": {"true"}, "includeItemsFromAllDrives": {"true"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		var res struct {
			Files         []json.RawMessage `json:"files"`
			NextPageToken string            `json:"nextPageToken"`
		}
		if err := hc.GetJSON(ctx, "/drive/v3/files", q, &res); err != nil {
			return provider.PollResult{}, err
		}
		for _, raw := range res.Files {
			var f driveFile
			if err := json.Unmarshal(raw, &f); err != nil || f.ID == "" {
				continue
			}
			out.Events = append(out.Events, provider.Event{ID: f.ID, OccurredAt: f.CreatedTime, Payload: raw})
			if f.CreatedTime.After(next) {
				next = f.CreatedTime
			}
		}
		token = res.NextPageToken
		if token == "" {
			break
		}
	}
	// Drive's query compares to the second: keep the watermark's second,
	// and let the host's dedupe drop what it has seen.
	st.Since = next.UTC().Truncate(time.Second)
	raw, err := json.Marshal(st)
	out.State = raw
	return out, err
}
