package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Operator roles, each allowed everything the one before it is.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Roles lists the operator roles from least to most privileged.
var Roles = []string{RoleViewer, RoleOperator, RoleAdmin}

// RoleRank orders roles: viewer 1, operator 2, admin 3, anything else 0.
func RoleRank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// Operator is a person or a program allowed to use `tenantctl serve`. Its token is
// never stored, only its SHA-256.
type Operator struct {
	Login      string     `json:"login"`
	Role       string     `json:"role"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the operator may still log in.
func (o Operator) Active() bool { return o.RevokedAt == nil }

// ErrOperatorExists is returned by [Store.AddOperator] for a login already active.
var ErrOperatorExists = errors.New("operator already exists")

// ErrOperatorNotFound is returned for a login that names no active operator.
var ErrOperatorNotFound = errors.New("operator not found")

// ErrBadToken is returned by [Store.Authenticate] and [Store.AuthenticateLogin] when a
// token is missing, unknown or revoked. It never says which.
var ErrBadToken = errors.New("invalid or revoked token")

var operatorLoginRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,30}$`)

// ValidateOperator checks a login and a role.
func ValidateOperator(login, role string) error {
	if !operatorLoginRE.MatchString(login) {
		return validate.Errorf("invalid login %q: use 1-31 characters a-z, 0-9, '.', '_' and '-', starting with a letter", login)
	}
	if RoleRank(role) == 0 {
		return validate.Errorf("invalid role %q: use viewer, operator or admin", role)
	}
	return nil
}

// tokenPrefix marks tenantctl operator tokens, so secret scanners and people can tell
// what a leaked string is.
const tokenPrefix = "tctl_"

// NewToken returns a fresh operator token: 32 random bytes, base64url, prefixed.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is the SHA-256 of a token, as the catalog stores it.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// AddOperator registers login with role and returns its token, which is shown once and
// stored only as a hash. A revoked login may be added again (with a new token).
func (s *Store) AddOperator(ctx context.Context, login, role string) (string, error) {
	if err := ValidateOperator(login, role); err != nil {
		return "", err
	}
	token := NewToken()
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO operators (login, role, token_sha256, created_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (login) DO UPDATE SET role = EXCLUDED.role, token_sha256 = EXCLUDED.token_sha256,
				created_by = EXCLUDED.created_by, created_at = now(), last_seen_at = NULL, revoked_at = NULL
			WHERE operators.revoked_at IS NOT NULL`,
			login, role, TokenHash(token), s.actor(ctx))
		if err != nil {
			return fmt.Errorf("record operator %q: %w", login, err)
		}
		if tag.RowsAffected() == 0 {
			return validate.Invalid(fmt.Errorf("operator %q: %w (revoke it first to issue a new token)", login, ErrOperatorExists))
		}
		return s.AppendEvent(ctx, tx, Event{Action: "operator.add", Details: map[string]any{"login": login, "role": role}})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

const operatorColumns = `login, role, created_by, created_at, last_seen_at, revoked_at`

func scanOperator(row pgx.Row) (Operator, error) {
	var o Operator
	err := row.Scan(&o.Login, &o.Role, &o.CreatedBy, &o.CreatedAt, &o.LastSeenAt, &o.RevokedAt)
	return o, err
}

// ListOperators returns every operator, revoked ones included, by login.
func (s *Store) ListOperators(ctx context.Context) ([]Operator, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+operatorColumns+` FROM operators ORDER BY login`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Operator, error) { return scanOperator(r) })
	if out == nil {
		out = []Operator{}
	}
	return out, err
}

// RevokeOperator makes login's token useless at once and ends its console sessions.
func (s *Store) RevokeOperator(ctx context.Context, login string) error {
	if err := ValidateOperator(login, RoleViewer); err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE operators SET revoked_at = now() WHERE login = $1 AND revoked_at IS NULL`, login)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return validate.Invalid(fmt.Errorf("operator %q: %w", login, ErrOperatorNotFound))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM operator_sessions WHERE login = $1`, login); err != nil {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "operator.revoke", Details: map[string]any{"login": login}})
	})
}

// Authenticate returns the active operator holding token (an API bearer token).
func (s *Store) Authenticate(ctx context.Context, token string) (Operator, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return Operator{}, ErrBadToken
	}
	want := TokenHash(token)
	var stored []byte
	var o Operator
	// The lookup is by hash, so its timing says nothing about the token; the compare
	// below is constant-time all the same.
	err := s.pool.QueryRow(ctx, `SELECT token_sha256, `+operatorColumns+` FROM operators WHERE token_sha256 = $1 AND revoked_at IS NULL`, want).
		Scan(&stored, &o.Login, &o.Role, &o.CreatedBy, &o.CreatedAt, &o.LastSeenAt, &o.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && subtle.ConstantTimeCompare(stored, want) != 1 {
		return Operator{}, ErrBadToken
	}
	if err != nil {
		return Operator{}, err
	}
	s.touchOperator(ctx, o)
	return o, nil
}

// AuthenticateLogin checks a login and its token (the console's login form) in
// constant time with respect to the token.
func (s *Store) AuthenticateLogin(ctx context.Context, login, token string) (Operator, error) {
	var stored []byte
	var o Operator
	err := s.pool.QueryRow(ctx, `SELECT token_sha256, `+operatorColumns+` FROM operators WHERE login = $1 AND revoked_at IS NULL`, login).
		Scan(&stored, &o.Login, &o.Role, &o.CreatedBy, &o.CreatedAt, &o.LastSeenAt, &o.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		stored = make([]byte, sha256.Size) // compare anyway: the same work for unknown logins
	} else if err != nil {
		return Operator{}, err
	}
	if subtle.ConstantTimeCompare(stored, TokenHash(token)) != 1 || errors.Is(err, pgx.ErrNoRows) {
		return Operator{}, ErrBadToken
	}
	s.touchOperator(ctx, o)
	return o, nil
}

// touchOperator records when an operator was last seen, at most once a minute.
func (s *Store) touchOperator(ctx context.Context, o Operator) {
	if o.LastSeenAt != nil && time.Since(*o.LastSeenAt) < time.Minute {
		return
	}
	_, _ = s.pool.Exec(ctx, `UPDATE operators SET last_seen_at = now() WHERE login = $1`, o.Login)
}

// Session is a console session. Its id is only ever stored hashed.
type Session struct {
	Operator  Operator
	CSRF      string
	ExpiresAt time.Time
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession opens a console session for login lasting ttl and returns its id (for
// the cookie) and the session.
func (s *Store) CreateSession(ctx context.Context, o Operator, ttl time.Duration) (string, Session, error) {
	id := randomString(32)
	sess := Session{Operator: o, CSRF: randomString(32), ExpiresAt: time.Now().Add(ttl)}
	_, err := s.pool.Exec(ctx, `INSERT INTO operator_sessions (id_sha256, login, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
		TokenHash(id), o.Login, sess.CSRF, sess.ExpiresAt)
	if err != nil {
		return "", Session{}, fmt.Errorf("open session: %w", err)
	}
	// Sweep expired sessions now and then; any replica may do it.
	_, _ = s.pool.Exec(ctx, `DELETE FROM operator_sessions WHERE expires_at < now()`)
	return id, sess, nil
}

// GetSession returns the live session with this id, or ErrBadToken.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	var sess Session
	o := &sess.Operator
	err := s.pool.QueryRow(ctx, `
		SELECT s.csrf, s.expires_at, o.login, o.role, o.created_by, o.created_at, o.last_seen_at, o.revoked_at
		FROM operator_sessions s JOIN operators o USING (login)
		WHERE s.id_sha256 = $1 AND s.expires_at > now() AND o.revoked_at IS NULL`, TokenHash(id)).
		Scan(&sess.CSRF, &sess.ExpiresAt, &o.Login, &o.Role, &o.CreatedBy, &o.CreatedAt, &o.LastSeenAt, &o.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrBadToken
	}
	return sess, err
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM operator_sessions WHERE id_sha256 = $1`, TokenHash(id))
	return err
}

// RecordLoginFailure notes a failed console login of login from source (an address).
func (s *Store) RecordLoginFailure(ctx context.Context, login, source string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO operator_login_failures (login, source) VALUES ($1, $2)`, login, source)
	if err == nil {
		_, _ = s.pool.Exec(ctx, `DELETE FROM operator_login_failures WHERE at < now() - interval '1 day'`)
	}
	return err
}

// LoginFailures counts failed logins of login and from source since since.
func (s *Store) LoginFailures(ctx context.Context, login, source string, since time.Time) (byLogin, bySource int, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE login = $1), count(*) FILTER (WHERE source = $2)
		FROM operator_login_failures WHERE at >= $3 AND (login = $1 OR source = $2)`, login, source, since).Scan(&byLogin, &bySource)
	return byLogin, bySource, err
}

// IdempotentResponse is a stored answer to a request made with an Idempotency-Key.
type IdempotentResponse struct {
	// Done is false while the first request with the key is still running.
	Done    bool
	Status  int
	Body    []byte
	Request string // SHA-256 of the first request
}

// ClaimIdempotencyKey records that login starts a request (hash) under key. It returns
// claimed true when this call owns the key, or the stored response of the earlier one.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, login, key, requestHash string) (claimed bool, prev IdempotentResponse, err error) {
	// A claim left unfinished for ten minutes belongs to a process that died (no request
	// waits that long): the same request may take it over and finish what it started —
	// creates are resumable — instead of being told "still running" for a day.
	tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (login, key, request_sha256) VALUES ($1, $2, $3)
		ON CONFLICT (login, key) DO UPDATE SET created_at = now()
		WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_sha256 = EXCLUDED.request_sha256
		  AND idempotency_keys.created_at < now() - interval '10 minutes'`,
		login, key, requestHash)
	if dbconn.SQLState(err) == pgerrcode.CheckViolation {
		return false, prev, validate.Errorf("invalid Idempotency-Key: use 1-200 characters")
	}
	if err != nil {
		return false, prev, err
	}
	if tag.RowsAffected() == 1 {
		return true, prev, nil
	}
	var status *int
	err = s.pool.QueryRow(ctx, `SELECT request_sha256, status, coalesce(body, '') FROM idempotency_keys WHERE login = $1 AND key = $2`, login, key).
		Scan(&prev.Request, &status, &prev.Body)
	if status != nil {
		prev.Done, prev.Status = true, *status
	}
	return false, prev, err
}

// FinishIdempotencyKey stores the response to the request that claimed key; a
// response that must not be replayed (a server error) releases the key instead.
func (s *Store) FinishIdempotencyKey(ctx context.Context, login, key string, status int, body []byte, keep bool) error {
	if !keep {
		_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE login = $1 AND key = $2`, login, key)
		return err
	}
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, body = $4 WHERE login = $1 AND key = $2`, login, key, status, body)
	if err == nil {
		_, _ = s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'`)
	}
	return err
}
