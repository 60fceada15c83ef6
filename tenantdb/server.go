package tenantdb

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// MinServerVersion is the oldest PostgreSQL server tenantctl manages (14).
const MinServerVersion = 140000

// ServerInfo is what [InspectServer] learns about a server and its admin role.
type ServerInfo struct {
	Host       string
	Port       int
	Role       string
	VersionNum int
	Superuser  bool
	CreateDB   bool
	CreateRole bool
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
		SELECT current_user, current_setting('server_version_num')::int, r.rolsuper, r.rolcreatedb, r.rolcreaterole
		FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&info.Role, &info.VersionNum, &info.Superuser, &info.CreateDB, &info.CreateRole)
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
