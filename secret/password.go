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
	salt := make([]byte, 16)
	mustRead(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, enc(salt), enc(storedKey[:]), enc(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
