package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// Defaults for sessions opened by tenantctl; a DSN that sets one of these keeps its own.
var Defaults = map[string]string{
	"application_name":                    "tenantctl",
	"statement_timeout":                   "300000", // 5 min
	"idle_in_transaction_session_timeout": "300000",
	"lock_timeout":                        "60000",
}

// ParseConfig parses dsn and applies [Defaults]. A DSN that cannot be parsed is invalid
// input. The DSN's password is registered for scrubbing.
func ParseConfig(dsn string) (*pgx.ConnConfig, error) {
	secret.RegisterDSN(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, validate.Errorf("invalid connection string %q: %s", secret.RedactDSN(dsn), scrubErr(err))
	}
	if err := prepare(cfg, dsn); err != nil {
		return nil, err
	}
	return cfg, nil
}

// prepare applies [Defaults], the connect timeout, keepalives and the [Watch] the DSN
// asks for (its parameters are removed: they are not the server's).
func prepare(cfg *pgx.ConnConfig, dsn string) error {
	w, err := watchFrom(cfg.RuntimeParams)
	if err != nil {
		return validate.Errorf("invalid connection string %q: %s", secret.RedactDSN(dsn), err)
	}
	applyDefaults(cfg.RuntimeParams)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	w.install(cfg)
	return nil
}

// DefaultConnectTimeout bounds opening a connection (TCP connect, TLS and the startup
// handshake together) unless the DSN sets connect_timeout. A server that accepts the TCP
// connection but never answers (a frozen host) fails here instead of hanging.
const DefaultConnectTimeout = 10 * time.Second

// KeepAlive is how TCP keepalives probe an idle connection: the first probe after 15 s
// of silence, then every 5 s, and the connection is dropped after 3 unanswered probes,
// so a server host that vanished (powered off, partitioned) is noticed within about
// 30 s even while a statement waits for its answer.
var KeepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

// Connect opens one connection.
func Connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return ConnectConfig(ctx, cfg)
}

// ConnectConfig opens one connection with cfg; its error is a [ConnectError].
func ConnectConfig(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, ConnectError(cfg.Host, cfg.Port, cfg.Database, err)
	}
	return conn, nil
}

// Pool opens a pool of at most maxConns connections (0: pgx's default).
func Pool(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	pool, err := PoolUnchecked(ctx, dsn, maxConns)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		c := pool.Config().ConnConfig
		return nil, ConnectError(c.Host, c.Port, c.Database, err)
	}
	return pool, nil
}

// PoolUnchecked is [Pool] without the round trip that checks the server answers: for
// a caller whose first statement follows at once (it wraps a failed login with
// [PoolConnectError]).
func PoolUnchecked(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	secret.RegisterDSN(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, validate.Errorf("invalid connection string %q: %s", secret.RedactDSN(dsn), scrubErr(err))
	}
	if err := prepare(cfg.ConnConfig, dsn); err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MinConns = 0
	return pgxpool.NewWithConfig(ctx, cfg)
}

// PoolConnectError is err described as [Pool] describes a failed login when it is one
// (the pool could not connect), else nil.
func PoolConnectError(pool *pgxpool.Pool, err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return nil
	}
	c := pool.Config().ConnConfig
	return ConnectError(c.Host, c.Port, c.Database, err)
}

// ConnectError describes a failed connection without its password.
func ConnectError(host string, port uint16, db string, err error) error {
	return fmt.Errorf("connect to %s/%s: %w", net.JoinHostPort(host, fmt.Sprint(port)), db, scrubbed{err})
}

func applyDefaults(params map[string]string) {
	for k, v := range Defaults {
		if _, ok := params[k]; !ok {
			params[k] = v
		}
	}
}

// scrubbed keeps the wrapped error reachable (errors.As on *pgconn.PgError still works)
// while its text is scrubbed.
type scrubbed struct{ err error }

func (s scrubbed) Error() string { return secret.Scrub(s.err.Error()) }
func (s scrubbed) Unwrap() error { return s.err }

func scrubErr(err error) string { return secret.Scrub(err.Error()) }
