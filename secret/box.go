package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of the operator's key in bytes (AES-256).
const KeySize = 32

// ErrNoKey is returned by [LoadKey] when neither a key file nor an inline key is given.
var ErrNoKey = errors.New("no secret key: set TENANTCTL_SECRET_KEY (base64) or --secret-key-file " +
	"(TENANTCTL_SECRET_KEY_FILE) to the 32-byte key that encrypts credentials in the catalog")

// ErrWrongKey is returned by [Box.Open] when a sealed value was not sealed with this key
// (or was tampered with).
var ErrWrongKey = errors.New("cannot decrypt a stored credential: the secret key is not the one " +
	"this catalog was initialised with")

// Box seals and opens values with the operator's key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("secret key must decode to %d bytes, got %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("secret key is not valid base64")
}

// LoadKey builds a Box from a key file or, when file is empty, from an inline base64 key.
func LoadKey(file, inline string) (*Box, error) {
	var raw string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read secret key file: %w", err)
		}
		raw = string(b)
	case inline != "":
		raw = inline
	default:
		return nil, ErrNoKey
	}
	key, err := ParseKey(raw)
	if err != nil {
		return nil, err
	}
	return NewBox(key)
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() string {
	b := make([]byte, KeySize)
	mustRead(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Seal encrypts plaintext. label binds the ciphertext to where it is stored (e.g.
// "server/pg-a/dsn") so a sealed value copied to another row does not open there.
func (b *Box) Seal(plaintext []byte, label string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	mustRead(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, []byte(label))
}

// Open decrypts a value made by [Box.Seal] with the same label. It returns [ErrWrongKey]
// rather than garbage when the key or label does not match.
func (b *Box) Open(sealed []byte, label string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrWrongKey
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
	if err != nil {
		return nil, ErrWrongKey
	}
	return out, nil
}

// SealString is [Box.Seal] for strings.
func (b *Box) SealString(s, label string) []byte { return b.Seal([]byte(s), label) }

// OpenString is [Box.Open] for strings; the result is registered with [Register] so it
// is scrubbed from anything printed afterwards.
func (b *Box) OpenString(sealed []byte, label string) (string, error) {
	out, err := b.Open(sealed, label)
	if err != nil {
		return "", err
	}
	s := string(out)
	RegisterDSN(s)
	return s, nil
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
}
