package provider

import "encoding/base64"

// Upload is the content of a file an action uploads, given either as text
// (content) or as base64 for binary data (content_base64). Embed it in an
// action's input struct; its fields decode from those two JSON names.
type Upload struct {
	Content       string `json:"content"`
	ContentBase64 string `json:"content_base64"`
}

// Bytes returns the file's bytes. Giving both fields, invalid base64, or
// more than limit bytes is the caller's mistake and is returned as a
// UserError; tooLarge is that error's summary for the field "content"
// (e.g. "is larger than 5 MB; use a resumable upload").
func (u Upload) Bytes(limit int, tooLarge string) ([]byte, error) {
	if u.Content != "" && u.ContentBase64 != "" {
		return nil, UserError("content_base64", "give content or content_base64, not both")
	}
	data := []byte(u.Content)
	if u.ContentBase64 != "" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(u.ContentBase64); err != nil {
			return nil, UserError("content_base64", "is not valid base64")
		}
	}
	if len(data) > limit {
		return nil, UserError("content", tooLarge)
	}
	return data, nil
}

// MediaType returns mediaType when it is set, else the type the content
// implies: text/plain for text, application/octet-stream for base64.
func (u Upload) MediaType(mediaType string) string {
	switch {
	case mediaType != "":
		return mediaType
	case u.ContentBase64 != "":
		return "application/octet-stream"
	}
	return "text/plain"
}
