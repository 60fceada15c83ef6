package tenantdb

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Inventory is what a server holds in the tenant namespace (t_…) and its templates,
// read with a fixed number of catalog queries however many tenants the server holds.
type Inventory struct {
	Databases map[string]DBInfo
	Roles     map[string]RoleInfo
}

// DBInfo describes one database.
type DBInfo struct {
	Name       string
	Owner      string
	AllowConn  bool
	IsTemplate bool
	Comment    string
	// Grants are the database's actual ACL entries (aclexplode of datacl, or the
	// defaults when datacl is NULL); grantee "PUBLIC" stands for PUBLIC.
	Grants []Grant
}

// Grant is one privilege held on a database.
type Grant struct {
	Grantee   string
	Privilege string // CONNECT, TEMPORARY, CREATE
}

// RoleInfo describes one role.
type RoleInfo struct {
	Name        string
	CanLogin    bool
	Superuser   bool
	CreateDB    bool
	CreateRole  bool
	Replication bool
	BypassRLS   bool
	ConnLimit   int
	// ValidUntil is when the role's password expires (nil: never).
	ValidUntil *time.Time
	Comment    string
	// MemberOf lists the roles this role is a member of. A PostgreSQL 16+ grant with
	// neither INHERIT nor SET (the ADMIN OPTION a CREATEROLE role receives on the roles
	// it creates) gives no privilege and is not listed; on 16+ one role may be granted
	// another by several grantors, listed once.
	MemberOf []string
}

// PublicPrivileges returns the privileges PUBLIC holds on the database.
func (d DBInfo) PublicPrivileges() []string {
	var out []string
	for _, g := range d.Grants {
		if g.Grantee == "PUBLIC" {
			out = append(out, g.Privilege)
		}
	}
	return out
}

// Inventory reads the server's tenant databases, template databases and tenant roles:
// the tenant namespace of a [Server.Snapshot].
func (s *Server) Inventory(ctx context.Context) (Inventory, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return Inventory{}, err
	}
	return snap.Inventory(), nil
}

// Snapshot is a server's shared catalogs in full: every database and every role, not
// only the tenant namespace. Every role on a server can read these catalogs (which is
// why names and comments must not identify a customer), and the audit needs all of
// them: other grantees, members of tenant roles, predefined roles, foreign names.
type Snapshot struct {
	// VersionNum is the server's server_version_num.
	VersionNum int
	// User is the role the snapshot was read as.
	User string
	// Databases and Roles hold every database and role on the server, by name.
	Databases map[string]DBInfo
	Roles     map[string]RoleInfo
	// Tablespaces holds every tablespace but pg_default and pg_global, by name: their
	// names are readable by every role, and their access lists say who may put objects
	// in them.
	Tablespaces map[string]TablespaceInfo
	// Queries is the number of queries the snapshot took: a constant, whatever the
	// number of tenants.
	Queries int
}

// TablespaceInfo describes one tablespace.
type TablespaceInfo struct {
	Name, Owner, Comment string
	// Grants are its actual ACL entries; grantee "PUBLIC" stands for PUBLIC.
	Grants []Grant
}

// Snapshot reads every database (owner, comment, actual ACL) and every role
// (attributes, comment, direct memberships) on the server, with a fixed number of
// queries on one connection.
func (s *Server) Snapshot(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{Databases: map[string]DBInfo{}, Roles: map[string]RoleInfo{}}
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return snap, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_user`).Scan(&snap.VersionNum, &snap.User); err != nil {
		return snap, fmt.Errorf("read server version: %w", err)
	}
	rows, err := conn.Query(ctx, `
		SELECT d.datname, pg_get_userbyid(d.datdba), d.datallowconn, d.datistemplate,
		       coalesce(shobj_description(d.oid, 'pg_database'), ''),
		       coalesce((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
		                                  || ':' || a.privilege_type ORDER BY 1)
		                 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a), '{}')
		FROM pg_database d`)
	if err != nil {
		return snap, fmt.Errorf("read databases: %w", err)
	}
	for rows.Next() {
		var d DBInfo
		var grants []string
		if err := rows.Scan(&d.Name, &d.Owner, &d.AllowConn, &d.IsTemplate, &d.Comment, &grants); err != nil {
			return snap, err
		}
		d.Grants = parseGrants(grants)
		snap.Databases[d.Name] = d
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("read databases: %w", err)
	}
	rows, err = conn.Query(ctx, `
		SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
		       r.rolconnlimit, nullif(r.rolvaliduntil, 'infinity'), coalesce(shobj_description(r.oid, 'pg_authid'), ''),
		       coalesce((SELECT array_agg(DISTINCT g.rolname ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
		                 WHERE m.member = r.oid
		                   AND coalesce((to_jsonb(m)->>'inherit_option')::bool OR (to_jsonb(m)->>'set_option')::bool, true)), '{}')
		FROM pg_roles r`)
	if err != nil {
		return snap, fmt.Errorf("read roles: %w", err)
	}
	for rows.Next() {
		var r RoleInfo
		if err := rows.Scan(&r.Name, &r.CanLogin, &r.Superuser, &r.CreateDB, &r.CreateRole, &r.Replication, &r.BypassRLS,
			&r.ConnLimit, &r.ValidUntil, &r.Comment, &r.MemberOf); err != nil {
			return snap, err
		}
		snap.Roles[r.Name] = r
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("read roles: %w", err)
	}
	rows, err = conn.Query(ctx, `
		SELECT t.spcname, pg_get_userbyid(t.spcowner), coalesce(shobj_description(t.oid, 'pg_tablespace'), ''),
		       coalesce((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
		                                  || ':' || a.privilege_type ORDER BY 1)
		                 FROM aclexplode(coalesce(t.spcacl, acldefault('t', t.spcowner))) a WHERE a.grantee <> t.spcowner), '{}')
		FROM pg_tablespace t WHERE t.spcname NOT IN ('pg_default', 'pg_global')`)
	if err != nil {
		return snap, fmt.Errorf("read tablespaces: %w", err)
	}
	snap.Tablespaces = map[string]TablespaceInfo{}
	for rows.Next() {
		var ts TablespaceInfo
		var grants []string
		if err := rows.Scan(&ts.Name, &ts.Owner, &ts.Comment, &grants); err != nil {
			return snap, err
		}
		ts.Grants = parseGrants(grants)
		snap.Tablespaces[ts.Name] = ts
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("read tablespaces: %w", err)
	}
	snap.Queries = 4
	return snap, nil
}

// Inventory returns the tenant namespace of the snapshot: what [Server.Inventory] reads.
func (snap Snapshot) Inventory() Inventory {
	inv := Inventory{Databases: map[string]DBInfo{}, Roles: map[string]RoleInfo{}}
	for name, d := range snap.Databases {
		if LooksLikeTenant(name) || strings.HasPrefix(name, TemplatePrefix) {
			inv.Databases[name] = d
		}
	}
	for name, r := range snap.Roles {
		if LooksLikeTenant(name) {
			inv.Roles[name] = r
		}
	}
	return inv
}

// Members returns, for every role, the roles that are direct members of it (the inverse
// of RoleInfo.MemberOf).
func (snap Snapshot) Members() map[string][]string {
	out := map[string][]string{}
	for name, r := range snap.Roles {
		for _, g := range r.MemberOf {
			out[g] = append(out[g], name)
		}
	}
	for g := range out {
		sort.Strings(out[g])
	}
	return out
}

// parseGrants splits "grantee:PRIVILEGE" entries (grantee names may hold colons).
func parseGrants(grants []string) []Grant {
	var out []Grant
	for _, g := range grants {
		if i := strings.LastIndexByte(g, ':'); i >= 0 {
			out = append(out, Grant{Grantee: g[:i], Privilege: g[i+1:]})
		}
	}
	return out
}
