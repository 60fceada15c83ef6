package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of the operator's key in bytes (AES-256).
const KeySize = 32

// KeyIDSize is the size of a key id in bytes; [Box.KeyID] is its hex form.
const KeyIDSize = 8

// sealMagic starts every value sealed with a key id: "tk" and a format version.
var sealMagic = []byte{'t', 'k', 1}

// HeaderSize is the length of the header of a sealed value: the magic bytes and the key
// id. The catalog's guard trigger reads the id at bytes 4–11 (1-based).
const HeaderSize = 3 + KeyIDSize

// ErrNoKey is returned by [LoadKey] when neither a key file nor an inline key is given.
var ErrNoKey = errors.New("no secret key: the 32-byte key that encrypts credentials in the catalog is needed")

// ErrWrongKey is returned by [Box.Open] when a sealed value was not sealed with this key
// (or was tampered with).
var ErrWrongKey = errors.New("cannot decrypt a stored credential: the secret key is not the one " +
	"this catalog was initialised with")

// Box seals and opens values with the operator's key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   [KeyIDSize]byte
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
	b := &Box{aead: aead}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("tenantctl key id"))
	copy(b.id[:], mac.Sum(nil))
	return b, nil
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
//
// The result starts with a header naming the key it was sealed with ([SealedKeyID]), so
// a catalog can tell which key holds each value and refuse a stale one; see [Box.KeyID].
func (b *Box) Seal(plaintext []byte, label string) []byte {
	out := make([]byte, 0, HeaderSize+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out = append(out, sealMagic...)
	out = append(out, b.id[:]...)
	header := out[:HeaderSize:HeaderSize]
	nonce := make([]byte, b.aead.NonceSize())
	mustRead(nonce)
	out = append(out, nonce...)
	return b.aead.Seal(out, nonce, plaintext, aad(header, label))
}

// Open decrypts a value made by [Box.Seal] with the same label. It returns an error
// matching [ErrWrongKey] rather than garbage when the key or label does not match; when
// the value names another key, that error is a [*KeyMismatchError] saying which.
//
// Values sealed before key ids existed (no header) still open.
func (b *Box) Open(sealed []byte, label string) ([]byte, error) {
	if id, ok := SealedKeyID(sealed); ok {
		if id == b.KeyID() {
			n := b.aead.NonceSize()
			if len(sealed) >= HeaderSize+n+b.aead.Overhead() {
				body := sealed[HeaderSize:]
				if out, err := b.aead.Open(nil, body[:n], body[n:], aad(sealed[:HeaderSize], label)); err == nil {
					return out, nil
				}
			}
		} else if out, err := b.openLegacy(sealed, label); err == nil {
			// A legacy value whose random nonce happens to look like a header.
			return out, nil
		} else {
			return nil, &KeyMismatchError{Key: b.KeyID(), SealedWith: id}
		}
	}
	return b.openLegacy(sealed, label)
}

// openLegacy opens a value sealed without a header: nonce, then ciphertext.
func (b *Box) openLegacy(sealed []byte, label string) ([]byte, error) {
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

// KeyID names the key without revealing it: 16 hex digits derived from the key with
// HMAC-SHA-256. The same key always has the same id, so an operator can tell which key
// file a catalog needs (`tenantctl secret key-id`).
func (b *Box) KeyID() string { return hex.EncodeToString(b.id[:]) }

// KeyIDBytes is [Box.KeyID] as the raw bytes stored in a sealed value's header.
func (b *Box) KeyIDBytes() []byte { return bytes.Clone(b.id[:]) }

// SealedKeyID returns the id of the key a value was sealed with, and false for a value
// sealed before key ids existed.
func SealedKeyID(sealed []byte) (string, bool) {
	if len(sealed) < HeaderSize || !bytes.Equal(sealed[:len(sealMagic)], sealMagic) {
		return "", false
	}
	return hex.EncodeToString(sealed[len(sealMagic):HeaderSize]), true
}

func aad(header []byte, label string) []byte {
	return append(bytes.Clone(header), label...)
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

// KeyMismatchError is returned by [Box.Open] for a value sealed with another key. It
// matches [ErrWrongKey] with errors.Is.
type KeyMismatchError struct {
	// Key is the id of the key that was tried; SealedWith the id the value names.
	Key, SealedWith string
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("the secret key (id %s) is not the one this value was sealed with (id %s)", e.Key, e.SealedWith)
}

// Is makes a KeyMismatchError match ErrWrongKey.
func (e *KeyMismatchError) Is(target error) bool { return target == ErrWrongKey }
