package secret

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// PasswordBytes is the entropy of generated passwords.
const PasswordBytes = 32

// scramIterations matches PostgreSQL's default scram_iterations.
const scramIterations = 4096

// KeyIterations is the PBKDF2 iteration count of [KeyVerifier]: one. Iterations stretch
// a guessable password so that each guess against a stolen verifier costs more; 4,096
// of them add 12 bits to the work. A password from [NewPassword] is a 256-bit random
// key that no one guesses, so they add nothing there, while every verifier set costs
// the server 4,096 iterations (PostgreSQL checks each new verifier against the empty
// password) and every login costs the client as many. PostgreSQL accepts any count from
// one (libpq too; PostgreSQL 16's scram_iterations goes down to 1).
const KeyIterations = 1

// NewPassword returns a random password with [PasswordBytes] bytes of entropy, in an
// alphabet that needs no quoting in a URL or a keyword/value DSN. It is registered for
// scrubbing.
func NewPassword() string {
	b := make([]byte, PasswordBytes)
	mustRead(b)
	p := base64.RawURLEncoding.EncodeToString(b)
	Register(p)
	return p
}

// ScramVerifier returns the SCRAM-SHA-256 verifier PostgreSQL stores for password, in the
// form accepted by `CREATE ROLE … PASSWORD '<verifier>'`. Sending the verifier instead of
// the password keeps the plaintext out of the server and its logs.
func ScramVerifier(password string) (string, error) {
	return scramVerifier(password, scramIterations)
}

// KeyVerifier is [ScramVerifier] with [KeyIterations], for a password made by
// [NewPassword] that only clients known to accept any iteration count log in with
// (tenantctl itself, libpq's pg_dump and pg_restore). Some client libraries in customer
// hands refuse counts under 4,096 (RFC 7677's advice to servers; older pgjdbc, Bun's
// driver, Cyrus SASL), so a password an application uses keeps [ScramVerifier].
// A password that is not of [NewPassword]'s shape (at least [PasswordBytes] random
// bytes, base64url) gets [ScramVerifier]'s 4,096 iterations.
func KeyVerifier(password string) (string, error) {
	if b, err := base64.RawURLEncoding.DecodeString(password); err != nil || len(b) < PasswordBytes {
		return ScramVerifier(password)
	}
	return scramVerifier(password, KeyIterations)
}

func scramVerifier(password string, iterations int) (string, error) {
	salt := make([]byte, 16)
	mustRead(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, enc(salt), enc(storedKey[:]), enc(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
