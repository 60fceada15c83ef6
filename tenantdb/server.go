package tenantdb

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// MinServerVersion is the oldest PostgreSQL server tenantctl manages (14).
const MinServerVersion = 140000

// Server is a tenant server reached through its registered admin role.
type Server struct {
	Name          string
	VersionNum    int
	CloneStrategy string // file_copy or wal_log

	// OwnerPasswords, when set, returns the login password of a tenant's owner role
	// (ok false when none is recorded: a tenant not converted to owner logins). The
	// sessions that must be the owner for their whole length — migrate baseline's
	// transaction, the mover's pg_dump and pg_restore — then log in as the owner: the
	// admin holds no standing membership in tenant roles to take the owner's role with
	// (docs/performance.md, "Role design"). Without it they run as the admin with the
	// owner's role, which only a tenant not yet converted (whose admin membership
	// reconcile has not revoked) or a private scratch instance ([Server.Private]) allows.
	OwnerPasswords func(ctx context.Context, id string) (password string, ok bool, err error)
	// Private marks a throwaway instance of tenantctl's own (a restore's scratch copy),
	// reachable by the admin only: [Server.EnsureOwnerSession] may make the admin a
	// standing member of a tenant's owner there.
	Private bool

	dsn  string
	cfg  *pgx.ConnConfig
	pool *adminPool
}

// OwnerPassword returns tenant id's owner login password when s knows one
// ([Server.OwnerPasswords]).
func (s *Server) OwnerPassword(ctx context.Context, id string) (string, bool, error) {
	if s.OwnerPasswords == nil {
		return "", false, nil
	}
	return s.OwnerPasswords(ctx, id)
}

// OwnerConnConfig returns the connection config of a session that is tenant id's owner
// for its whole length, to its database: the owner's login when s knows its password,
// else the admin with the owner's role as a startup parameter (see
// [Server.EnsureOwnerSession], which it calls).
func (s *Server) OwnerConnConfig(ctx context.Context, id string) (*pgx.ConnConfig, error) {
	cfg := s.ConnConfig(Database(id))
	pw, ok, err := s.OwnerPassword(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok {
		cfg.User, cfg.Password = OwnerRole(id), pw
		return cfg, nil
	}
	if err := s.EnsureOwnerSession(ctx, id); err != nil {
		return nil, err
	}
	cfg.RuntimeParams["role"] = OwnerRole(id)
	return cfg, nil
}

// connectOwner connects to tenant id's database as its owner (see
// [Server.OwnerConnConfig]).
func (s *Server) connectOwner(ctx context.Context, id string) (*pgx.Conn, error) {
	cfg, err := s.OwnerConnConfig(ctx, id)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, dbconn.ConnectError(cfg.Host, cfg.Port, cfg.Database, err)
	}
	return conn, nil
}

// EnsureOwnerSession makes sure a session of the admin may take tenant id's owner role
// for its whole length (pg_dump --role), where no owner login can be had: on a
// [Server.Private] instance it makes the admin a member of the owner (a standing
// membership on a throwaway copy no one else reaches costs nothing that matters);
// elsewhere it does nothing (a tenant not converted to owner logins keeps the admin's
// membership until reconcile converts it).
func (s *Server) EnsureOwnerSession(ctx context.Context, id string) error {
	if !s.Private {
		return nil
	}
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	return s.grantToAdmin(ctx, conn, OwnerRole(id))
}

// NewServer returns a Server for a registered server's admin DSN.
func NewServer(name, dsn string, versionNum int, cloneStrategy string) (*Server, error) {
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cloneStrategy == "" {
		cloneStrategy = "file_copy"
	}
	return &Server{Name: name, VersionNum: versionNum, CloneStrategy: cloneStrategy, dsn: dsn, cfg: cfg, pool: &adminPool{}}, nil
}

// AdminRole is the role tenantctl uses on this server.
func (s *Server) AdminRole() string { return s.cfg.User }

// Host and Port of the server, as the admin DSN names them.
func (s *Server) Host() string { return s.cfg.Host }

// Port of the server.
func (s *Server) Port() uint16 { return s.cfg.Port }

// ConnConfig returns the admin connection config for database db.
func (s *Server) ConnConfig(db string) *pgx.ConnConfig {
	c := s.cfg.Copy()
	c.Database = db
	return c
}

// Connect opens an admin connection to database db.
func (s *Server) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	c := s.ConnConfig(db)
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return nil, dbconn.ConnectError(c.Host, c.Port, db, err)
	}
	return conn, nil
}

// DSNFor returns a connection string for user/password to database db on this server,
// keeping the admin DSN's host, port and query parameters (sslmode and the like).
func (s *Server) DSNFor(user, password, db string) string {
	u, err := url.Parse(s.dsn)
	q := url.Values{}
	if err == nil && u.Scheme != "" {
		q = u.Query()
		for _, p := range dbconn.ClientParams { // tenantctl's own, not libpq's
			q.Del(p)
		}
	} else {
		q.Set("sslmode", "prefer")
	}
	out := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(s.cfg.Host, strconv.Itoa(int(s.cfg.Port))),
		Path:     "/" + db,
		RawQuery: q.Encode(),
	}
	return out.String()
}

// ServerInfo is what [InspectServer] learns about a server and its admin role.
type ServerInfo struct {
	Host       string
	Port       int
	Role       string
	VersionNum int
	Superuser  bool
	CreateDB   bool
	CreateRole bool
	// SystemID is the cluster's system identifier (pg_control_system()): the same for a
	// server reached under another name or after a failover to its physical standby.
	SystemID string
}

// InspectServer connects with an admin DSN and checks that the server can hold tenants:
// PostgreSQL 14 or newer and a role with CREATEDB and CREATEROLE (superuser is not
// needed). A DSN that cannot be parsed, a role that lacks a privilege or an old server is
// invalid input; an unreachable server is an operation failure.
func InspectServer(ctx context.Context, dsn string) (ServerInfo, error) {
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return ServerInfo{}, err
	}
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return ServerInfo{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	info := ServerInfo{Host: cfg.Host, Port: int(cfg.Port)}
	err = conn.QueryRow(ctx, `
		SELECT current_user, current_setting('server_version_num')::int, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
		       (SELECT system_identifier FROM pg_control_system())::text
		FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&info.Role, &info.VersionNum, &info.Superuser, &info.CreateDB, &info.CreateRole, &info.SystemID)
	if err != nil {
		return info, fmt.Errorf("inspect server %s:%d: %w", info.Host, info.Port, err)
	}
	if info.VersionNum < MinServerVersion {
		return info, validate.Errorf("server %s:%d runs PostgreSQL %d.%d; tenantctl needs 14 or newer",
			info.Host, info.Port, info.VersionNum/10000, info.VersionNum%10000)
	}
	if !info.Superuser && (!info.CreateDB || !info.CreateRole) {
		return info, validate.Errorf("role %q on %s:%d lacks CREATEDB or CREATEROLE: run ALTER ROLE %s CREATEDB CREATEROLE as a superuser, "+
			"or register the server with another role", info.Role, info.Host, info.Port, info.Role)
	}
	return info, nil
}

// ident quotes an identifier.
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// literal quotes a string literal for the few utility statements that take no
// parameters (passwords as SCRAM verifiers). Standard-conforming strings are on in every
// supported server, so doubling quotes is enough; backslashes are rejected outright.
func literal(s string) (string, error) {
	// Invalid UTF-8 would come out as U+FFFD: a different value than was asked for.
	if !utf8.ValidString(s) {
		return "", ErrUnquotable
	}
	for _, r := range s {
		if r == '\\' || r == 0 {
			return "", ErrUnquotable
		}
	}
	out := []rune{'\''}
	for _, r := range s {
		if r == '\'' {
			out = append(out, '\'')
		}
		out = append(out, r)
	}
	return string(append(out, '\'')), nil
}

// ErrUnquotable is returned for a value tenantctl will not put into SQL as a literal
// (it holds a backslash or a NUL byte). It is invalid input: nothing was changed.
var ErrUnquotable = validate.Errorf("refusing to quote a literal with a backslash or NUL")
