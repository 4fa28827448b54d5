package sqlcore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/atomhq/atom/host/internal/store"
)

// RawKey is the single key of the object that stands in for a JSON value
// PostgreSQL's jsonb cannot hold. The value is the original bytes,
// base64-encoded, so they come back exactly.
const RawKey = "$atom.raw"

// rawPrefix and rawSuffix frame a stand-in as jsonb prints it.
const (
	rawPrefix = `{"` + RawKey + `": "`
	rawSuffix = `"}`
)

// maxNumberLen bounds the length of a number jsonb is trusted to hold:
// its numeric type refuses very large exponents and digit counts.
// Exponents of more than three digits are refused too: 1e-99999
// overflows numeric and 1e99999 prints as 100,000 digits.
const (
	maxNumberLen   = 100
	maxExponentLen = 3
)

// JSONBSafe reports whether jsonb can hold b as it means: valid UTF-8, no
// NUL byte, no \u0000 escape, no escape of an unpaired surrogate and no
// number beyond what numeric holds (jsonb refuses all of them). It does
// not check that b is valid JSON.
func JSONBSafe(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return false
	}
	inString, numLen, expLen := false, 0, -1
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			switch {
			case c == '"':
				inString, numLen, expLen = true, 0, -1
			case c == 'e' || c == 'E':
				numLen, expLen = numLen+1, 0
			case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
				numLen++
				if expLen >= 0 && c >= '0' && c <= '9' {
					expLen++
				}
			default:
				numLen, expLen = 0, -1
			}
			if numLen > maxNumberLen || expLen > maxExponentLen {
				return false
			}
			continue
		}
		if c == '"' {
			inString = false
			continue
		}
		if c != '\\' {
			continue
		}
		i++
		if i >= len(b) {
			return false
		}
		if b[i] != 'u' {
			continue
		}
		r, ok := hex4(b[i+1:])
		if !ok {
			return false
		}
		i += 4
		switch {
		case r == 0:
			return false
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate with no high one before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(b[i+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

// startsWithRawKey reports whether b is an object whose first key is
// RawKey: storing it as is would read back as a stand-in.
func startsWithRawKey(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !bytes.Contains(b, []byte("raw")) && !bytes.Contains(b, []byte(`\u`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if _, err := dec.Token(); err != nil {
		return false
	}
	k, err := dec.Token()
	if err != nil {
		return false
	}
	s, ok := k.(string)
	return ok && s == RawKey
}

// EncodeJSONB returns what to store in a jsonb column for b: b itself when
// jsonb holds it faithfully, otherwise a stand-in object that DecodeJSONB
// turns back into b. A value that itself looks like a stand-in is wrapped
// too, so no stored value is ever misread.
func EncodeJSONB(b []byte) []byte {
	if b == nil {
		return nil
	}
	if JSONBSafe(b) && !startsWithRawKey(b) {
		return b
	}
	out := make([]byte, 0, len(rawPrefix)+base64.StdEncoding.EncodedLen(len(b))+len(rawSuffix))
	out = append(out, rawPrefix...)
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, rawSuffix...)
}

// DecodeJSONB reverses EncodeJSONB on a value read from a jsonb column
// (jsonb prints objects in one canonical form, which the check relies on).
func DecodeJSONB(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte(rawPrefix)) || !bytes.HasSuffix(b, []byte(rawSuffix)) || len(b) < len(rawPrefix)+len(rawSuffix) {
		return b, nil
	}
	mid := b[len(rawPrefix) : len(b)-len(rawSuffix)]
	if bytes.IndexByte(mid, '"') >= 0 {
		return b, nil // another key follows: not a stand-in
	}
	return base64.StdEncoding.AppendDecode(nil, mid)
}

// CleanText makes free text (error messages, reasons, scopes a provider
// sent) storable in any text column: NUL and invalid UTF-8 become U+FFFD.
// Identifiers and names are validated at the API instead, never altered.
func CleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// CheckText refuses, on every backend alike, a value no backend stores as
// given: invalid UTF-8, a NUL, or more than max characters (max 0: no
// limit). The error names field.
func CheckText(field, v string, max int) error {
	switch {
	case !utf8.ValidString(v):
		return &store.InvalidError{Field: field, Reason: "must be valid UTF-8"}
	case strings.IndexByte(v, 0) >= 0:
		return &store.InvalidError{Field: field, Reason: "must not contain NUL characters"}
	case max > 0 && len(v) > max && utf8.RuneCountInString(v) > max:
		return &store.InvalidError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	return nil
}

// checkTexts runs CheckText on each check and returns the first error.
func checkTexts(checks ...textCheck) error {
	for _, c := range checks {
		if err := CheckText(c.field, c.v, c.max); err != nil {
			return err
		}
	}
	return nil
}

type textCheck struct {
	field, v string
	max      int
}

// maxTokenType is the width of integration_tokens.token_type; a
// provider's longer token_type is cut rather than failing the connection.
const maxTokenType = 40

// clip cuts s to at most max characters.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}
