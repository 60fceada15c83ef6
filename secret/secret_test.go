package secret

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key, err := ParseKey(GenerateKey())
	require.NoError(t, err)
	b, err := NewBox(key)
	require.NoError(t, err)
	return b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	sealed := b.SealString("postgres://u:hunter2hunter2@h/db", "server/a/dsn")
	require.NotContains(t, string(sealed), "hunter2")
	got, err := b.OpenString(sealed, "server/a/dsn")
	require.NoError(t, err)
	require.Equal(t, "postgres://u:hunter2hunter2@h/db", got)

	// Same plaintext seals differently each time (random nonce).
	require.NotEqual(t, sealed, b.SealString("postgres://u:hunter2hunter2@h/db", "server/a/dsn"))

	// A value moved to another row does not open there.
	_, err = b.Open(sealed, "server/b/dsn")
	require.ErrorIs(t, err, ErrWrongKey)

	// Another key never yields garbage, only ErrWrongKey.
	_, err = newBox(t).Open(sealed, "server/a/dsn")
	require.ErrorIs(t, err, ErrWrongKey)
	_, err = b.Open([]byte("short"), "server/a/dsn")
	require.ErrorIs(t, err, ErrWrongKey)
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	_, err := LoadKey("", "")
	require.ErrorIs(t, err, ErrNoKey)
	_, err = LoadKey("", "not base64 !!!")
	require.ErrorContains(t, err, "base64")
	_, err = LoadKey("", base64.StdEncoding.EncodeToString([]byte("too short")))
	require.ErrorContains(t, err, "32 bytes")
	_, err = LoadKey("/nonexistent/key", "")
	require.ErrorContains(t, err, "read secret key file")
	_, err = LoadKey("", GenerateKey())
	require.NoError(t, err)
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	p := NewPassword()
	raw, err := base64.RawURLEncoding.DecodeString(p)
	require.NoError(t, err)
	require.Len(t, raw, PasswordBytes)
	require.NotEqual(t, p, NewPassword())
	require.Equal(t, "conn failed for "+Mask, Scrub("conn failed for "+p), "generated passwords are scrubbed")
}

func TestScramVerifier(t *testing.T) {
	t.Parallel()
	v, err := ScramVerifier("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v, "SCRAM-SHA-256$4096:"))
	require.NotContains(t, v, "horse")
	parts := strings.Split(v, "$")
	require.Len(t, parts, 3)
	keys := strings.Split(parts[2], ":")
	require.Len(t, keys, 2)
	for _, k := range keys {
		b, err := base64.StdEncoding.DecodeString(k)
		require.NoError(t, err)
		require.Len(t, b, 32)
	}
}

// A generated password gets a one-iteration verifier; anything else, PostgreSQL's 4,096.
func TestKeyVerifier(t *testing.T) {
	t.Parallel()
	v, err := KeyVerifier(NewPassword())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v, fmt.Sprintf("SCRAM-SHA-256$%d:", KeyIterations)), v)
	for _, pw := range []string{"correct horse battery staple", NewPassword()[:40], "not base64 at all, though long enough to pass for a key!"} {
		v, err := KeyVerifier(pw)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(v, "SCRAM-SHA-256$4096:"), pw)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://admin:s3cr3t@db:5432/x":                   "postgres://admin:" + Mask + "@db:5432/x",
		"host=db user=admin password=s3cr3t dbname=x":         "host=db user=admin password=" + Mask + " dbname=x",
		"host=db password='it''s secret' dbname=x":            "host=db password=" + Mask + " dbname=x",
		"nothing secret here":                                 "nothing secret here",
		"failed: postgres://u:p%40ss@h/db?sslmode=disable ok": "failed: postgres://u:" + Mask + "@h/db?sslmode=disable ok",
	}
	for in, want := range cases {
		require.Equal(t, want, Scrub(in), in)
	}
	Register("registered-secret-value")
	require.Equal(t, "x "+Mask+" y", Scrub("x registered-secret-value y"))
	Register("short")
	require.Equal(t, "short", Scrub("short"), "short values are not registered")
}

func TestKeyIDs(t *testing.T) {
	t.Parallel()
	key, err := ParseKey(GenerateKey())
	require.NoError(t, err)
	a, err := NewBox(key)
	require.NoError(t, err)
	again, err := NewBox(key)
	require.NoError(t, err)
	require.Len(t, a.KeyID(), 2*KeyIDSize)
	require.Equal(t, a.KeyID(), again.KeyID(), "a key's id depends on the key alone")
	other := newBox(t)
	require.NotEqual(t, a.KeyID(), other.KeyID())

	sealed := a.SealString("some secret value", "l")
	id, ok := SealedKeyID(sealed)
	require.True(t, ok)
	require.Equal(t, a.KeyID(), id, "a sealed value names its key")
	got, err := again.OpenString(sealed, "l")
	require.NoError(t, err)
	require.Equal(t, "some secret value", got)

	_, err = other.Open(sealed, "l")
	require.ErrorIs(t, err, ErrWrongKey)
	var mismatch *KeyMismatchError
	require.ErrorAs(t, err, &mismatch)
	require.Equal(t, a.KeyID(), mismatch.SealedWith)
	require.Equal(t, other.KeyID(), mismatch.Key)
	require.NotContains(t, err.Error(), GenerateKey()[:4]+"x", "sanity")

	// A value sealed before key ids existed (nonce, ciphertext) still opens.
	nonce := make([]byte, a.aead.NonceSize())
	legacy := a.aead.Seal(append([]byte{}, nonce...), nonce, []byte("old"), []byte("l"))
	_, ok = SealedKeyID(legacy)
	require.False(t, ok)
	out, err := a.Open(legacy, "l")
	require.NoError(t, err)
	require.Equal(t, "old", string(out))
	_, err = other.Open(legacy, "l")
	require.ErrorIs(t, err, ErrWrongKey)
}
