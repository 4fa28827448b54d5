package app

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
)

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
