package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// sealer encrypts values that must be readable again (a message body with a
// security code in it) but must never sit in Redis in clear text.
type sealer struct{ aead cipher.AEAD }

// newSealer derives a purpose-bound AES-256 key from the deployment secret,
// so the same secret can key other things without key reuse.
func newSealer(secret []byte, purpose string) (*sealer, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("sandesh/" + purpose))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns base64(nonce || ciphertext); ad binds the value to its owner
// (a message id) so a ciphertext copied to another record does not open.
func (s *sealer) seal(plain, ad string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(ad))
	return base64.RawStdEncoding.EncodeToString(out), nil
}

var errSealed = errors.New("sealed value does not open")

func (s *sealer) open(sealed, ad string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(ad))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// keyedHash is an HMAC under a purpose-bound key: it lets Redis compare a
// secret (an API key, a security code) without ever holding it.
type keyedHash struct{ key []byte }

func newKeyedHash(secret []byte, purpose string) keyedHash {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("sandesh/" + purpose))
	return keyedHash{key: mac.Sum(nil)}
}

// sum returns the hex HMAC of the parts, each length-prefixed so that
// ("ab","c") and ("a","bc") differ.
func (k keyedHash) sum(parts ...string) string {
	mac := hmac.New(sha256.New, k.key)
	for _, p := range parts {
		fmt.Fprintf(mac, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(mac.Sum(nil))
}
