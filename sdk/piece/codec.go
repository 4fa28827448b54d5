package piece

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file holds the reflection-free JSON paths of the ABI envelopes.
// Inside a wasm guest, reflection-based encoding/json costs tens of
// microseconds per call; these functions handle the common, well-formed
// shapes directly and report false for anything else, in which case the
// caller falls back to encoding/json. The fast paths therefore only have to
// be right when they succeed, and every error a piece author or the host
// sees is still the one encoding/json produces.

// maxDepth bounds the nesting the fast paths follow; deeper documents go to
// encoding/json, which has its own limit.
const maxDepth = 1000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString returns the end (one past the closing quote) of the JSON
// string starting at b[i] == '"', and whether it holds escapes. It accepts
// exactly what encoding/json accepts: no control characters, only the
// defined escapes; bytes above 0x7f are left to the decoder.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false, false
					}
				}
				i += 6
			default:
				return 0, false, false
			}
		default:
			i++
		}
	}
	return 0, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber returns the end of the JSON number starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// skipValue returns the end of the JSON value starting at b[i] (no leading
// space), validating it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxDepth {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipSpace(b, i+1)
			}
			end, ok := skipValue(b, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closing {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipSpace(b, i+1)
		}
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return 0, false
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// unquote returns the Go string of the JSON string token s (quotes
// included). Tokens with escapes or non-ASCII bytes go through
// encoding/json, which also replaces invalid UTF-8 as it always has.
func unquote(s []byte, escaped bool) (string, bool) {
	inner := s[1 : len(s)-1]
	if !escaped && isASCII(inner) {
		return string(inner), true
	}
	var v string
	if json.Unmarshal(s, &v) != nil {
		return "", false
	}
	return v, true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// objectMember is one member of a JSON object: its decoded key and raw
// value.
type objectMember struct {
	key   string
	value []byte
}

// scanObject validates b as one JSON document and, when it is an object,
// calls member for each member in order with the key's token (quotes
// included), whether it holds escapes, and the raw value. It reports false
// when b is not
// valid JSON or a key cannot be decoded; it reports true with isObject
// false for any other valid document.
func scanObject(b []byte, member func(key []byte, escaped bool, value []byte) bool) (isObject, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return false, false
	}
	if b[i] != '{' {
		end, ok := skipValue(b, i, 0)
		if !ok || skipSpace(b, end) != len(b) {
			return false, false
		}
		return false, true
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true, skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false, false
		}
		kend, escaped, ok := scanString(b, i)
		if !ok {
			return false, false
		}
		key := b[i:kend]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return false, false
		}
		i = skipSpace(b, i+1)
		vend, ok := skipValue(b, i, 1)
		if !ok {
			return false, false
		}
		if !member(key, escaped, b[i:vend]) {
			return false, false
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return false, false
		}
		if b[i] == '}' {
			return true, skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false, false
		}
		i = skipSpace(b, i+1)
	}
}

// executeKeys are the JSON names of ExecuteInput's fields.
var executeKeys = []string{"execution_id", "tenant_id", "action", "input", "base_url"}

// decodeExecuteInput decodes the request envelope into req as
// json.Unmarshal would, reporting false when the input needs
// encoding/json (invalid JSON, a field of the wrong type, a key that
// matches a field only case-insensitively, an escaped key).
func decodeExecuteInput(b []byte, req *ExecuteInput) bool {
	isObject, ok := scanObject(b, func(key []byte, escaped bool, v []byte) bool {
		if escaped {
			return false
		}
		key = key[1 : len(key)-1]
		var dst *string
		switch string(key) {
		case "execution_id":
			dst = &req.ExecutionID
		case "tenant_id":
			dst = &req.TenantID
		case "action":
			dst = &req.Action
		case "base_url":
			dst = &req.BaseURL
		case "input":
			req.Input = append(json.RawMessage(nil), v...)
			return true
		default:
			for _, k := range executeKeys {
				if len(k) == len(key) && foldEqual(k, key) {
					return false
				}
			}
			return true
		}
		switch v[0] {
		case 'n':
			return true // null leaves a string unchanged
		case '"':
			s, ok := unquote(v, hasEscape(v))
			*dst = s
			return ok
		}
		return false
	})
	return ok && isObject
}

func hasEscape(s []byte) bool { return slices.Contains(s, '\\') }

// foldEqual reports whether the ASCII key k equals b ignoring case. Keys
// with non-ASCII bytes count as equal so that encoding/json's Unicode
// folding decides them.
func foldEqual(k string, b []byte) bool {
	for i := range len(k) {
		c := b[i]
		if c >= utf8.RuneSelf {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != k[i] {
			return false
		}
	}
	return true
}

// decodeFields decodes the input object into a map of raw members as
// json.Unmarshal into map[string]json.RawMessage would, reporting false
// when encoding/json must decide.
func decodeFields(b []byte, m map[string]json.RawMessage) bool {
	_, ok := scanObject(b, func(key []byte, escaped bool, v []byte) bool {
		k, ok := unquote(key, escaped)
		if ok {
			m[k] = v[:len(v):len(v)]
		}
		return ok
	})
	return ok
}

// stringValue returns the string of a raw JSON value as json.Unmarshal
// into a string would: the text of a string, "" for null and anything
// else.
func stringValue(v []byte) string {
	if len(v) >= 2 && v[0] == '"' && !hasEscape(v) && isASCII(v) {
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json writes
// it (HTML-safe escaping, U+2028 and U+2029 escaped, invalid UTF-8 replaced
// by U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f as encoding/json writes a float64; it reports false
// for NaN and infinities, which encoding/json refuses.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-09 into e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// appendRaw appends a json.RawMessage as encoding/json marshals it:
// compacted, with HTML characters escaped. Messages holding characters that
// need escaping are left to encoding/json.
func appendRaw(dst []byte, m json.RawMessage) ([]byte, bool) {
	if m == nil {
		return append(dst, "null"...), true
	}
	for _, c := range m {
		if c == '<' || c == '>' || c == '&' || c == 0xe2 {
			return dst, false
		}
	}
	i := skipSpace(m, 0)
	end, ok := skipValue(m, i, 0)
	if !ok || skipSpace(m, end) != len(m) {
		return dst, false
	}
	if !slices.ContainsFunc(m, func(c byte) bool { return isSpace(c) }) {
		return append(dst, m...), true
	}
	return appendCompact(dst, m), true
}

// appendCompact appends valid JSON m without insignificant whitespace.
func appendCompact(dst, m []byte) []byte {
	for i := 0; i < len(m); {
		c := m[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			end, _, _ := scanString(m, i)
			dst = append(dst, m[i:end]...)
			i = end
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// appendValue appends v as json.Marshal would for the dynamic types action
// results are usually made of (maps, slices, strings, numbers, raw JSON).
// It reports false for any other type or value, in which case the caller
// marshals the whole value with encoding/json.
func appendValue(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return dst, false
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return appendString(dst, v), true
	case bool:
		return strconv.AppendBool(dst, v), true
	case float64:
		return appendFloat(dst, v)
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int64:
		return strconv.AppendInt(dst, v, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), true
	case uint64:
		return strconv.AppendUint(dst, v, 10), true
	case json.RawMessage:
		return appendRaw(dst, v)
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var ok bool
			if dst, ok = appendValue(dst, v[k], depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, v[k])
		}
		return append(dst, '}'), true
	case []any:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendValue(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case []string:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, e)
		}
		return append(dst, ']'), true
	case []map[string]any:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendValue(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	return dst, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendOutput appends the JSON of an action's result: through the fast
// path when it can, else through json.Marshal.
func appendOutput(dst []byte, v any) ([]byte, error) {
	if out, ok := appendValue(dst, v, 0); ok {
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendFailure appends the response JSON of one error diagnostic, as
// json.Marshal of ResponseJSON writes it.
func appendFailure(dst []byte, d Diagnostic) []byte {
	dst = append(dst, `{"diagnostics":[{"severity":`...)
	dst = appendString(dst, d.Severity)
	dst = append(dst, `,"summary":`...)
	dst = appendString(dst, d.Summary)
	if d.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = appendString(dst, d.Detail)
	}
	if d.Field != "" {
		dst = append(dst, `,"field":`...)
		dst = appendString(dst, d.Field)
	}
	if d.Status != 0 {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(d.Status), 10)
	}
	return append(dst, `}]}`...)
}
