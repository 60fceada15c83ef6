package secret

import (
	"io"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// Mask replaces secrets in scrubbed text.
const Mask = "[redacted]"

var (
	mu      sync.RWMutex
	secrets = map[string]struct{}{}
	// password=... in keyword/value DSNs, and user:password@ in URLs.
	kvPassword  = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s]+)`)
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)([^@\s]*)(@)`)
)

// Register adds a secret value that [Scrub] removes from any text from now on. Values
// shorter than 8 bytes are ignored (they would mask ordinary words).
func Register(s string) {
	if len(s) < 8 {
		return
	}
	mu.Lock()
	secrets[s] = struct{}{}
	if esc := url.QueryEscape(s); esc != s {
		secrets[esc] = struct{}{}
	}
	mu.Unlock()
}

// RegisterDSN registers a connection string and the password inside it.
func RegisterDSN(dsn string) {
	if cfg, err := pgconn.ParseConfig(dsn); err == nil && cfg.Password != "" {
		Register(cfg.Password)
	}
}

// Scrub removes registered secrets and any password embedded in a DSN from s.
func Scrub(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+Mask+"${3}")
	s = kvPassword.ReplaceAllString(s, "${1}"+Mask)
	mu.RLock()
	defer mu.RUnlock()
	for v := range secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// RedactDSN returns dsn with its password masked, for display.
func RedactDSN(dsn string) string { return Scrub(dsn) }

// ScrubWriter wraps w so everything written through it is scrubbed. Each Write is
// scrubbed on its own: loggers write whole lines, which is what this is for.
func ScrubWriter(w io.Writer) io.Writer { return scrubWriter{w} }

type scrubWriter struct{ w io.Writer }

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
