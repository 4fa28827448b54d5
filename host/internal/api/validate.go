package api

import (
	"fmt"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/atomhq/atom/host/internal/store"
)

// CheckText validates a text field a client sent: valid UTF-8, no control
// characters (NUL included), at most max characters (store's limit for
// the column that keeps it). The 400 it returns names the field.
func CheckText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return apiErr(http.StatusBadRequest, "invalid_input", field+" must be valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return apiErr(http.StatusBadRequest, "invalid_input", fmt.Sprintf("%s must not contain control characters (found U+%04X)", field, r))
		}
	}
	if max > 0 && utf8.RuneCountInString(v) > max {
		return apiErr(http.StatusBadRequest, "invalid_input", fmt.Sprintf("%s must be at most %d characters", field, max))
	}
	return nil
}

// CheckIdempotencyKey validates an Idempotency-Key header: 1 to
// store.MaxIdempotencyKey printable ASCII characters.
func CheckIdempotencyKey(key string) error {
	if len(key) > store.MaxIdempotencyKey {
		return apiErr(http.StatusBadRequest, "invalid_idempotency_key", fmt.Sprintf("Idempotency-Key must be at most %d characters", store.MaxIdempotencyKey))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return apiErr(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must consist of printable ASCII characters")
		}
	}
	return nil
}
