package linear

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

func TestVerifyLinearSignature(t *testing.T) {
	now := time.Now()
	body := func(at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"action":"create","type":"Issue","data":{},"webhookTimestamp":%d}`, at.UnixMilli()))
	}
	sign := func(b []byte, secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	good := body(now)
	if err := verify(provider.WebhookRequest{Headers: http.Header{"Linear-Signature": {sign(good, "s")}}, Body: good}, "s", now); err != nil {
		t.Fatalf("valid: %v", err)
	}
	old := body(now.Add(-2 * time.Minute))
	noTS := []byte(`{"action":"create"}`)
	for name, h := range map[string]provider.WebhookRequest{
		"forged":       {Headers: http.Header{"Linear-Signature": {sign(good, "other")}}, Body: good},
		"missing":      {Body: good},
		"not hex":      {Headers: http.Header{"Linear-Signature": {"zz"}}, Body: good},
		"stale":        {Headers: http.Header{"Linear-Signature": {sign(old, "s")}}, Body: old},
		"no timestamp": {Headers: http.Header{"Linear-Signature": {sign(noTS, "s")}}, Body: noTS},
		"body changed": {Headers: http.Header{"Linear-Signature": {sign(good, "s")}}, Body: append([]byte(" "), good...)},
	} {
		if err := verify(h, "s", now); !errors.Is(err, provider.ErrInvalidSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
