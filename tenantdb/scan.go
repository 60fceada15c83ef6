package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Bridges is what one database holds that can reach outside it: extensions (all of
// them; the caller decides which reach across databases), foreign data wrappers,
// foreign servers and user mappings. Any database a login can connect to — postgres and
// template1 included — can hold a bridge into a tenant's database.
type Bridges struct {
	Database            string
	Extensions          []string
	ForeignDataWrappers []string
	ForeignServers      []ForeignServer
	// UserMappings are "server:user" ("server:public" for PUBLIC).
	UserMappings []string
	// Views are the views that call a dblink-style function (named dblink…, or running
	// a C symbol named so, extension or not), with the database their connection string
	// names.
	Views []BridgeView
}

// BridgeView is a view that connects elsewhere by itself (dblink('dbname=…', …)).
type BridgeView struct {
	Name string
	// DBName is the dbname its definition names ("" when it names none: a foreign
	// server's name, or a connection string built at run time).
	DBName string
}

// ForeignServer is a foreign server and what its options point at.
type ForeignServer struct {
	Name string
	// Options as "key=value" (passwords are never in server options, only in user
	// mappings, whose options are not read).
	Options []string
}

// Option returns the value of a server option ("" when unset).
func (f ForeignServer) Option(key string) string {
	for _, o := range f.Options {
		if k, v, ok := strings.Cut(o, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Empty reports whether the database holds no foreign data wrapper, server or mapping.
func (b Bridges) Empty() bool {
	return len(b.ForeignDataWrappers) == 0 && len(b.ForeignServers) == 0 && len(b.UserMappings) == 0 && len(b.Views) == 0
}

const bridgesQuery = `
SELECT current_database(),
       coalesce((SELECT array_agg(extname::text ORDER BY 1) FROM pg_extension), '{}'),
       coalesce((SELECT array_agg(fdwname::text ORDER BY 1) FROM pg_foreign_data_wrapper), '{}'),
       coalesce((SELECT array_agg(srvname::text ORDER BY 1) FROM pg_foreign_server), '{}'),
       coalesce((SELECT array_agg(coalesce(array_to_string(srvoptions, E'\x1f'), '') ORDER BY srvname) FROM pg_foreign_server), '{}'),
       coalesce((SELECT array_agg(srvname || ':' || usename ORDER BY 1) FROM pg_user_mappings), '{}'),
       coalesce((SELECT array_agg(v.name || E'\x1f' || coalesce(substring(pg_get_viewdef(v.oid) from 'dbname\s*=\s*''?([A-Za-z0-9_]+)'), '') ORDER BY 1)
                 FROM (SELECT DISTINCT c.oid, c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS name
                       FROM pg_depend d
                       JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
                       JOIN pg_class c ON c.oid = r.ev_class
                       JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
                       WHERE p.oid >= 16384 AND (p.proname LIKE 'dblink%' OR (p.prolang = 13 AND p.prosrc LIKE 'dblink%'))) v), '{}')`

func scanBridges(row pgx.Row) (Bridges, error) {
	var b Bridges
	var names, opts, views []string
	if err := row.Scan(&b.Database, &b.Extensions, &b.ForeignDataWrappers, &names, &opts, &b.UserMappings, &views); err != nil {
		return b, err
	}
	for _, v := range views {
		name, db, _ := strings.Cut(v, "\x1f")
		b.Views = append(b.Views, BridgeView{Name: name, DBName: db})
	}
	for i, n := range names {
		fs := ForeignServer{Name: n}
		if i < len(opts) && opts[i] != "" {
			fs.Options = strings.Split(opts[i], "\x1f")
		}
		b.ForeignServers = append(b.ForeignServers, fs)
	}
	return b, nil
}

// InspectBridges connects to database db (read-only for a read-only handle) and reads
// its bridges with one query.
func (s *Server) InspectBridges(ctx context.Context, db string) (Bridges, error) {
	conn, err := s.Connect(ctx, db)
	if err != nil {
		return Bridges{Database: db}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b, err := scanBridges(conn.QueryRow(ctx, bridgesQuery))
	if err != nil {
		return b, fmt.Errorf("inspect database %s: %w", db, err)
	}
	return b, nil
}

// Footprint is what one role owns or is granted in one database, as PostgreSQL's shared
// dependency catalog (pg_shdepend) records it across every database of the server —
// including databases that accept no connections. Roles the server pins (the bootstrap
// superuser) and PUBLIC are not recorded there.
type Footprint struct {
	Database string
	Role     string
	// Owns counts objects the role owns; Privileges objects whose access list (or
	// default privileges) name it; Policies row-level security policies naming it.
	Owns, Privileges, Policies int
}

// RoleSetting is a configuration setting bound to a database, a role, or a role in one
// database (ALTER DATABASE/ROLE … SET); Database or Role is "" when it applies to all.
type RoleSetting struct {
	Database string
	Role     string
	Settings []string
}

// Subscription is a logical replication subscription (shared catalog pg_subscription).
type Subscription struct {
	Database, Name, Owner string
	// Slot is the replication slot it streams from on the publisher ("" for none):
	// the slot's database is what it reaches.
	Slot string
}

// Slot is a replication slot (pg_replication_slots): a logical one streams every
// change of its database to whoever consumes it.
type Slot struct {
	Name, Type string
	// Database is a logical slot's database ("" for a physical slot).
	Database string
	Active   bool
}

// ServerScan is what [Server.ScanServer] reads: the server-wide records of every
// database, and the bridges of the maintenance database it connected to.
type ServerScan struct {
	Footprints    []Footprint
	Settings      []RoleSetting
	Subscriptions []Subscription
	Slots         []Slot
	// Bridges of the database the scan connected to ("postgres").
	Bridges Bridges
	// Queries is the number of queries the scan sent (in one round trip).
	Queries int
}

// ScanServer reads, on one connection to the maintenance database and in one round
// trip, every role's footprint in every database, every database and role setting,
// every subscription, and the maintenance database's own bridges.
func (s *Server) ScanServer(ctx context.Context) (ServerScan, error) {
	var out ServerScan
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return out, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b := &pgx.Batch{}
	b.Queue(`
		SELECT d.datname, r.rolname,
		       count(*) FILTER (WHERE s.deptype = 'o')::int,
		       count(*) FILTER (WHERE s.deptype IN ('a', 'i'))::int,
		       count(*) FILTER (WHERE s.deptype = 'r')::int
		FROM pg_shdepend s
		JOIN pg_database d ON d.oid = s.dbid
		JOIN pg_roles r ON r.oid = s.refobjid
		WHERE s.refclassid = 'pg_authid'::regclass
		GROUP BY 1, 2 ORDER BY 1, 2`)
	b.Queue(`
		SELECT coalesce(d.datname, ''), coalesce(r.rolname, ''), s.setconfig::text[]
		FROM pg_db_role_setting s
		LEFT JOIN pg_database d ON d.oid = s.setdatabase
		LEFT JOIN pg_roles r ON r.oid = s.setrole
		ORDER BY 1, 2`)
	b.Queue(`
		SELECT d.datname, s.subname, pg_get_userbyid(s.subowner), coalesce(s.subslotname::text, '')
		FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid ORDER BY 1, 2`)
	b.Queue(bridgesQuery)
	b.Queue(`SELECT slot_name::text, slot_type, coalesce(database::text, ''), active FROM pg_replication_slots ORDER BY 1`)
	out.Queries = b.Len()
	res := conn.SendBatch(ctx, b)
	defer res.Close()
	if out.Footprints, err = nextRows(res, "read shared dependencies", func(r pgx.CollectableRow) (Footprint, error) {
		var f Footprint
		return f, r.Scan(&f.Database, &f.Role, &f.Owns, &f.Privileges, &f.Policies)
	}); err != nil {
		return out, err
	}
	if out.Settings, err = nextRows(res, "read settings", func(r pgx.CollectableRow) (RoleSetting, error) {
		var st RoleSetting
		return st, r.Scan(&st.Database, &st.Role, &st.Settings)
	}); err != nil {
		return out, err
	}
	if out.Subscriptions, err = nextRows(res, "read subscriptions", func(r pgx.CollectableRow) (Subscription, error) {
		var sub Subscription
		return sub, r.Scan(&sub.Database, &sub.Name, &sub.Owner, &sub.Slot)
	}); err != nil {
		return out, err
	}
	if out.Bridges, err = scanBridges(res.QueryRow()); err != nil {
		return out, fmt.Errorf("inspect database postgres: %w", err)
	}
	if out.Slots, err = nextRows(res, "read replication slots", func(r pgx.CollectableRow) (Slot, error) {
		var sl Slot
		return sl, r.Scan(&sl.Name, &sl.Type, &sl.Database, &sl.Active)
	}); err != nil {
		return out, err
	}
	return out, nil
}

// readNext reads the batch's next result with read; what names it in the error.
func readNext[T any](res pgx.BatchResults, what string, read func(pgx.Rows) (T, error)) (T, error) {
	rows, err := res.Query()
	if err == nil {
		var v T
		if v, err = read(rows); err == nil {
			return v, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("%s: %w", what, err)
}

// nextRows collects the batch's next result, a row at a time by scan; what names it
// in the error.
func nextRows[T any](res pgx.BatchResults, what string, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	return readNext(res, what, func(rows pgx.Rows) ([]T, error) { return pgx.CollectRows(rows, scan) })
}

// AccessRoleTenant returns the tenant id an MSP access role (msp_<login>_<id>) is for.
func AccessRoleTenant(role string) (string, bool) {
	if !strings.HasPrefix(role, AccessPrefix) {
		return "", false
	}
	i := strings.LastIndexByte(role, '_')
	if i < 0 || !ValidID(role[i+1:]) {
		return "", false
	}
	return role[i+1:], true
}
