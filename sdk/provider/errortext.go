package provider

import "strings"

// maxErrorText is the longest plain-text error body ErrorText accepts.
const maxErrorText = 300

// ErrorText returns an error response body as a message when it is short
// plain text: trimmed of white space, not empty, not an HTML or XML page
// (starting with "<") and shorter than 300 bytes. Otherwise it returns "".
// A DecodeError function uses it for a body that is not the API's JSON
// error shape, e.g. a proxy's or gateway's one-line answer.
func ErrorText(body []byte) string {
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "<") || len(s) >= maxErrorText {
		return ""
	}
	return s
}
