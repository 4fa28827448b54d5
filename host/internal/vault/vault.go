// Package vault encrypts credentials at rest with AES-256-GCM under a key
// ring. The first key of the ring encrypts; every key decrypts, so keys
// can be rotated online. Each ciphertext is bound to the row it belongs to
// through additional authenticated data, so a ciphertext copied to another
// row, column, tenant or provider fails to decrypt.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors.
var (
	// ErrDecrypt is returned when a ciphertext fails authentication: it
	// was tampered with, moved to another row, or sealed under a key the
	// ring does not hold.
	ErrDecrypt = errors.New("vault: ciphertext does not authenticate for this row")
	// ErrUnknownKey is returned when the ciphertext names a key id the
	// ring does not hold.
	ErrUnknownKey = errors.New("vault: unknown key id")
	// ErrNoKeys is returned when the ring is empty.
	ErrNoKeys = errors.New("vault: no encryption keys configured (set ATOM_ENCRYPTION_KEYS=id:base64key)")
)

const formatV1 = 1

// AD identifies where a ciphertext lives. All fields take part in the
// authentication of the ciphertext.
type AD struct {
	Table    string
	Column   string
	TenantID string
	Provider string
	RowID    string
}

func (a AD) bytes() []byte {
	return []byte(strings.Join([]string{"atom/v1", a.Table, a.Column, a.TenantID, a.Provider, a.RowID}, "\x00"))
}

// Keyring holds named AES-256 keys. It is immutable and safe for
// concurrent use.
type Keyring struct {
	active string
	ids    []string
	aeads  map[string]cipher.AEAD
}

// Key is one named key.
type Key struct {
	ID     string
	Secret []byte // 32 bytes
}

// New builds a ring; keys[0] is the active (encrypting) key.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	r := &Keyring{active: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if k.ID == "" || len(k.ID) > 64 || strings.ContainsAny(k.ID, ":, \t\n") {
			return nil, fmt.Errorf("vault: key %d: id %q must be 1-64 characters without ':', ',' or spaces", i+1, k.ID)
		}
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("vault: key %q: must be 32 bytes (base64 of 32 random bytes), got %d", k.ID, len(k.Secret))
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("vault: key id %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("vault: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("vault: key %q: %w", k.ID, err)
		}
		r.aeads[k.ID] = aead
		r.ids = append(r.ids, k.ID)
	}
	return r, nil
}

// Parse reads the ATOM_ENCRYPTION_KEYS format "id1:base64key,id2:base64key".
// Errors never echo key material.
func Parse(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, ErrNoKeys
	}
	var keys []Key
	for i, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("vault: ATOM_ENCRYPTION_KEYS entry %d: want id:base64key", i+1)
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			secret, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
		}
		if err != nil {
			return nil, fmt.Errorf("vault: ATOM_ENCRYPTION_KEYS entry %d (%s): key is not valid base64", i+1, id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return New(keys...)
}

// Generate returns a spec string with one new random key named id.
func Generate(id string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// ActiveKeyID is the id of the key that encrypts.
func (r *Keyring) ActiveKeyID() string { return r.active }

// KeyIDs lists the ring's key ids, active first.
func (r *Keyring) KeyIDs() []string { return append([]string(nil), r.ids...) }

// Seal encrypts plaintext for the row ad under the active key. The
// result carries a format byte, the key id and a random nonce.
func (r *Keyring) Seal(plaintext []byte, ad AD) (ciphertext []byte, keyID string, err error) {
	aead := r.aeads[r.active]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("vault: nonce: %w", err)
	}
	out := make([]byte, 0, 2+len(r.active)+len(nonce)+len(plaintext)+aead.Overhead())
	out = append(out, formatV1, byte(len(r.active)))
	out = append(out, r.active...)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plaintext, ad.bytes())
	return out, r.active, nil
}

// Open decrypts a ciphertext produced by Seal for the same row.
func (r *Keyring) Open(ciphertext []byte, ad AD) ([]byte, error) {
	keyID, body, err := split(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := r.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q (add it back to ATOM_ENCRYPTION_KEYS or restore from backup)", ErrUnknownKey, keyID)
	}
	ns := aead.NonceSize()
	if len(body) < ns+aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := aead.Open(nil, body[:ns], body[ns:], ad.bytes())
	if err != nil {
		return nil, fmt.Errorf("%w (%s.%s row %s)", ErrDecrypt, ad.Table, ad.Column, ad.RowID)
	}
	return pt, nil
}

// KeyIDOf returns the key id recorded in a ciphertext.
func KeyIDOf(ciphertext []byte) (string, error) {
	id, _, err := split(ciphertext)
	return id, err
}

func split(ct []byte) (keyID string, body []byte, err error) {
	if len(ct) < 2 || ct[0] != formatV1 || len(ct) < 2+int(ct[1]) {
		return "", nil, fmt.Errorf("%w: malformed ciphertext", ErrDecrypt)
	}
	n := int(ct[1])
	return string(ct[2 : 2+n]), ct[2+n:], nil
}

// NeedsRotation reports whether ciphertext was sealed under a key other
// than the active one.
func (r *Keyring) NeedsRotation(ciphertext []byte) bool {
	id, err := KeyIDOf(ciphertext)
	return err != nil || id != r.active
}
