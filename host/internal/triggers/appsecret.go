package triggers

import "encoding/json"

// withAppSecret adds the operator's app signing secret to a webhook
// instance's registration as "signing_secret", as app webhooks get it:
// some providers sign the webhooks an app registers per account with the
// app's own secret rather than one issued with the registration (Shopify
// signs with the app's client secret). A registration that already has a
// signing_secret, or no secret configured, is left as it is.
func withAppSecret(reg json.RawMessage, secret string) json.RawMessage {
	if secret == "" {
		return reg
	}
	m := map[string]json.RawMessage{}
	if len(reg) > 0 {
		if err := json.Unmarshal(reg, &m); err != nil || m == nil {
			return reg // not an object: the plugin's own shape
		}
	}
	if _, ok := m["signing_secret"]; ok {
		return reg
	}
	m["signing_secret"], _ = json.Marshal(secret)
	out, err := json.Marshal(m)
	if err != nil {
		return reg
	}
	return out
}
