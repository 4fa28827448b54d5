package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustRing(t *testing.T, spec string) *Keyring {
	t.Helper()
	r, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSealOpenBindsRow(t *testing.T) {
	k1, _ := Generate("k1")
	r := mustRing(t, k1)
	ad := AD{Table: "integration_tokens", Column: "credentials", TenantID: "t1", Provider: "slack", RowID: "r1"}
	secret := []byte("xoxb-secret-token")
	ct, id, err := r.Seal(secret, ad)
	if err != nil {
		t.Fatal(err)
	}
	if id != "k1" || bytes.Contains(ct, secret) {
		t.Fatalf("key id %q, plaintext visible: %v", id, bytes.Contains(ct, secret))
	}
	got, err := r.Open(ct, ad)
	if err != nil || string(got) != string(secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	moved := []AD{
		{Table: ad.Table, Column: ad.Column, TenantID: "t2", Provider: ad.Provider, RowID: ad.RowID},
		{Table: ad.Table, Column: ad.Column, TenantID: ad.TenantID, Provider: "github", RowID: ad.RowID},
		{Table: ad.Table, Column: ad.Column, TenantID: ad.TenantID, Provider: ad.Provider, RowID: "r2"},
		{Table: "oauth_apps", Column: ad.Column, TenantID: ad.TenantID, Provider: ad.Provider, RowID: ad.RowID},
	}
	for _, m := range moved {
		if _, err := r.Open(ct, m); !errors.Is(err, ErrDecrypt) {
			t.Errorf("moved to %+v: err %v, want ErrDecrypt", m, err)
		}
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	if _, err := r.Open(tampered, ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := r.Open([]byte{9, 9}, ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("garbage: %v", err)
	}
}

func TestRotationRing(t *testing.T) {
	old, _ := Generate("old")
	nw, _ := Generate("new")
	ad := AD{Table: "t", Column: "c", TenantID: "x", RowID: "1"}
	ct, _, _ := mustRing(t, old).Seal([]byte("s"), ad)
	both := mustRing(t, nw+","+old)
	if !both.NeedsRotation(ct) {
		t.Fatal("old ciphertext should need rotation")
	}
	pt, err := both.Open(ct, ad)
	if err != nil {
		t.Fatal(err)
	}
	ct2, id, _ := both.Seal(pt, ad)
	if id != "new" || both.NeedsRotation(ct2) {
		t.Fatalf("resealed under %q", id)
	}
	onlyNew := mustRing(t, nw)
	if _, err := onlyNew.Open(ct2, ad); err != nil {
		t.Fatal(err)
	}
	if _, err := onlyNew.Open(ct, ad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old ct with old key removed: %v", err)
	}
}

func TestParseErrorsHideKeys(t *testing.T) {
	cases := []string{"", "nocolon", "k1:not-base64!!", "k1:c2hvcnQ=", "a b:AAAA"}
	for _, c := range cases {
		_, err := Parse(c)
		if err == nil {
			t.Errorf("%q: no error", c)
			continue
		}
		if strings.Contains(err.Error(), "c2hvcnQ") || strings.Contains(err.Error(), "not-base64") {
			t.Errorf("%q: error echoes key material: %v", c, err)
		}
	}
	k1, _ := Generate("k1")
	if _, err := Parse(k1 + "," + k1); err == nil {
		t.Error("duplicate id accepted")
	}
}
