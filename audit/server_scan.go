package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// serverScan is what the audit read on one server beyond its shared-catalog snapshot:
// shared dependencies, settings and subscriptions (one round trip on one connection to
// postgres), and the bridges of every database other than the tenant databases
// (one connection and one query per database that accepts connections).
type serverScan struct {
	scan    tenantdb.ServerScan
	bridges []tenantdb.Bridges
	err     error
	// unreadable are the databases that accept no connections (and are neither
	// template0 nor a tenantctl template) or could not be entered.
	unreadable []unreadable
}

// unreadable is a database the bridge scan could not enter, and why (nil: it accepts
// no connections).
type unreadable struct {
	db  string
	err error
}

func (u unreadable) name() string {
	if u.err == nil {
		return u.db
	}
	return u.db + " (" + u.err.Error() + ")"
}

// hostile holds the per-run state of the checks against a careless or hostile admin.
type hostile struct {
	mu    sync.Mutex
	scans map[string]*serverScan // by server name
}

// scanServers reads every reachable server's shared dependencies, then the bridges of
// every database that is not a live tenant's database (those are inspected with the
// tenant), within the audit's connection limits (one connection per database).
func (a *auditor) scanServers(ctx context.Context) {
	a.hostile = &hostile{scans: map[string]*serverScan{}}
	var names []string
	for name := range a.reachableServers() {
		names = append(names, name)
		a.hostile.scans[name] = &serverScan{}
	}
	notStarted := fleet.Dispatch(ctx, names, func(name string) string { return name }, a.limits(),
		func(ctx context.Context, name string) struct{} {
			sc := a.hostile.scans[name]
			sc.scan, sc.err = a.servers[name].handle.ScanServer(ctx)
			if sc.err == nil {
				sc.bridges = append(sc.bridges, sc.scan.Bridges)
			}
			return struct{}{}
		},
		func(string, struct{}) bool { return false })
	for _, name := range notStarted {
		a.hostile.scans[name].err = ctx.Err()
	}

	type target struct{ server, db string }
	var targets []target
	for _, name := range names {
		s, sc := a.servers[name], a.hostile.scans[name]
		if sc.err != nil {
			continue
		}
		dbs := make([]string, 0, len(s.snap.Databases))
		for db := range s.snap.Databases {
			dbs = append(dbs, db)
		}
		sort.Strings(dbs)
		for _, db := range dbs {
			if _, isTenant := a.tenantDatabaseOn(s, db); isTenant || db == "postgres" {
				continue
			}
			if !s.snap.Databases[db].AllowConn {
				if db != "template0" && !strings.HasPrefix(db, tenantdb.TemplatePrefix) {
					sc.unreadable = append(sc.unreadable, unreadable{db: db})
				}
				continue
			}
			targets = append(targets, target{name, db})
		}
	}
	fleet.Dispatch(ctx, targets, func(t target) string { return t.server }, a.limits(),
		func(ctx context.Context, t target) struct{} {
			b, err := a.servers[t.server].handle.InspectBridges(ctx, t.db)
			a.hostile.mu.Lock()
			defer a.hostile.mu.Unlock()
			sc := a.hostile.scans[t.server]
			switch {
			case err == nil:
				sc.bridges = append(sc.bridges, b)
			case ctx.Err() == nil:
				sc.unreadable = append(sc.unreadable, unreadable{db: t.db, err: err})
			}
			return struct{}{}
		},
		func(target, struct{}) bool { return false })
	for _, name := range names {
		sc := a.hostile.scans[name]
		sort.Slice(sc.bridges, func(i, j int) bool { return sc.bridges[i].Database < sc.bridges[j].Database })
		sort.Slice(sc.unreadable, func(i, j int) bool { return sc.unreadable[i].db < sc.unreadable[j].db })
	}
}

// tenantDatabaseOn returns the live catalog tenant whose database db is on server s.
func (a *auditor) tenantDatabaseOn(s *server, db string) (catalog.Tenant, bool) {
	id, ok := tenantdb.ParseName(db)
	if !ok || db != tenantdb.Database(id) {
		return catalog.Tenant{}, false
	}
	t, ok := a.byID[id]
	if !ok || !t.Live() || t.Server != s.cat.Name {
		return catalog.Tenant{}, false
	}
	return t, true
}

// inScope reports whether a finding about tenant slug ("" for the fleet) belongs in
// this run: a one-tenant audit reports only what names its tenant.
func (a *auditor) inScope(slug string) bool {
	return a.o.Tenant == "" || slug == a.o.Tenant
}

// roleTenant returns the live catalog tenant a role belongs to: its owner, app or group
// role, or one of its MSP access roles.
func (a *auditor) roleTenant(role string) (catalog.Tenant, bool) {
	id, ok := tenantdb.ParseName(role)
	if !ok {
		id, ok = tenantdb.AccessRoleTenant(role)
	}
	if !ok {
		return catalog.Tenant{}, false
	}
	t, ok := a.byID[id]
	return t, ok && t.Live()
}

// checkServerScans turns every server scan into findings.
func (a *auditor) checkServerScans() {
	for _, name := range a.names {
		s := a.servers[name]
		sc := a.hostile.scans[name]
		if sc == nil {
			continue
		}
		if sc.err != nil {
			a.col.evaluated(CheckServerBridges, "")
			a.col.unproven(sc.err, CheckServerBridges, High, "", name, "the databases of server %s could not be scanned, so bridges and copies there are unproven: %v", name, sc.err)
			continue
		}
		for _, b := range sc.bridges {
			a.checkBridges(s, b)
		}
		for _, u := range sc.unreadable {
			a.col.evaluated(CheckServerBridges, "")
			if a.inScope("") {
				a.col.unproven(u.err, CheckServerBridges, Medium, "", name, "database %s on server %s could not be inspected for bridges (it accepts no connections or refused the admin role); its shared dependencies were still read", u.name(), name)
			}
		}
		a.checkFootprints(s, sc.scan.Footprints)
		a.checkSubscriptions(s, sc.scan.Subscriptions)
		a.checkSettings(s, sc.scan.Settings)
	}
}

// checkBridges reports what, in a database that is not a tenant's, can reach out of it.
// A foreign server pointing at a tenant database, or a user mapping for a tenant's
// role, names that tenant; anything else is a fleet-wide finding.
func (a *auditor) checkBridges(s *server, b tenantdb.Bridges) {
	name := s.cat.Name
	a.col.evaluated(CheckServerBridges, "")
	// A foreign server's dbname names the tenant it reaches (on this server or another:
	// tenant database names are unique across the fleet).
	exposed := func(fs tenantdb.ForeignServer) string {
		if id, ok := tenantdb.ParseName(fs.Option("dbname")); ok && fs.Option("dbname") == tenantdb.Database(id) {
			if t, ok := a.byID[id]; ok && t.Live() {
				return t.Slug
			}
		}
		return ""
	}
	report := func(slug, format string, args ...any) {
		if a.inScope(slug) {
			a.col.violation(CheckServerBridges, "", slug, name, format, args...)
		}
	}
	for _, ext := range b.Extensions {
		if crossDatabaseExtensions[ext] {
			report("", "extension %s is installed in database %s on server %s: a login that can connect there reaches other databases or the server's files", ext, b.Database, name)
		}
	}
	for _, w := range b.ForeignDataWrappers {
		report("", "foreign data wrapper %s exists in database %s on server %s", w, b.Database, name)
	}
	servers := map[string]string{}
	for _, fs := range b.ForeignServers {
		slug := exposed(fs)
		servers[fs.Name] = slug
		target := "another database"
		if slug != "" {
			target = "the database of tenant " + slug
		}
		report(slug, "foreign server %s in database %s on server %s points at %s (%s)", fs.Name, b.Database, name, target, strings.Join(fs.Options, ", "))
	}
	for _, v := range b.Views {
		slug, where := "", "another database"
		if v.DBName != "" {
			where = "database " + v.DBName
		}
		if t, ok := a.bridgeTarget(v.DBName); ok {
			slug, where = t.Slug, "the database of tenant "+t.Slug
		}
		report(slug, "view %s in database %s on server %s connects to %s through dblink", v.Name, b.Database, name, where)
	}
	for _, um := range b.UserMappings {
		srv, user, _ := strings.Cut(um, ":")
		slug := servers[srv]
		if t, ok := a.roleTenant(user); ok && slug == "" {
			slug = t.Slug
		}
		who := "role " + user
		if user == "public" {
			who = "PUBLIC (every role that can connect there)"
		}
		report(slug, "user mapping for %s on foreign server %s in database %s on server %s lets it log in elsewhere with stored credentials", who, srv, b.Database, name)
	}
}

// checkFootprints reads pg_shdepend's record of which role owns or is granted what in
// which database: a tenant's role anywhere but in its own database (a copy of its
// data, a view or foreign table bridging to it), another tenant's role in a tenant's
// database, and anything but the template owner in a template.
func (a *auditor) checkFootprints(s *server, fps []tenantdb.Footprint) {
	name := s.cat.Name
	for _, f := range fps {
		what := footprintWhat(f)
		dbTenant, isTenantDB := a.tenantDatabaseOn(s, f.Database)
		roleTenant, isTenantRole := a.roleTenant(f.Role)
		switch {
		case strings.HasPrefix(f.Database, tenantdb.TemplatePrefix):
			a.col.evaluated(CheckTemplatePrivileges, "")
			if f.Role == tenantdb.TemplateOwnerRole || f.Role == s.cat.AdminRole {
				continue
			}
			if a.inScope("") {
				a.col.violation(CheckTemplatePrivileges, "", "", name, "role %s %s in template database %s on server %s: every tenant created from it gets a copy", f.Role, what, f.Database, name)
			}
			if isTenantRole && a.inScope(roleTenant.Slug) {
				a.col.violation(CheckServerTenantObjects, Critical, roleTenant.Slug, name, "role %s of tenant %s %s in template database %s on server %s", f.Role, roleTenant.Slug, what, f.Database, name)
			}
		case isTenantDB:
			a.col.evaluated(CheckServerTenantObjects, dbTenant.Slug)
			if isTenantRole && roleTenant.ID != dbTenant.ID && a.inScope(dbTenant.Slug) {
				a.col.violation(CheckServerTenantObjects, Critical, dbTenant.Slug, name, "role %s of tenant %s %s in database %s of tenant %s on server %s",
					f.Role, roleTenant.Slug, what, f.Database, dbTenant.Slug, name)
			}
		case isTenantRole:
			a.col.evaluated(CheckServerTenantObjects, roleTenant.Slug)
			if !a.inScope(roleTenant.Slug) {
				continue
			}
			if f.Database == tenantdb.Database(roleTenant.ID) && a.moveCopies[name][roleTenant.ID] {
				// A copy the catalog expects because of a move (its target while it
				// runs, the source kept after it): the tenant's own roles belong there.
				continue
			}
			if a.restoreCopies[name][f.Database] == roleTenant.ID && a.keptCopy(name, f.Database) {
				// The database an in-place restore replaced, kept for its retention: the
				// tenant's own objects, reachable by no login (no CONNECT, and no role is
				// named like it for the confinement lines to admit).
				continue
			}
			sev, why := High, "a bridge to the tenant or a leftover"
			if f.Owns > 0 {
				sev, why = Critical, "a copy of the tenant's data or a bridge to it; it also keeps the role from being dropped when the tenant is purged"
			}
			a.col.violation(CheckServerTenantObjects, sev, roleTenant.Slug, name, "role %s of tenant %s %s in database %s on server %s, which is not the tenant's database: %s",
				f.Role, roleTenant.Slug, what, f.Database, name, why)
		}
	}
}

func footprintWhat(f tenantdb.Footprint) string {
	var parts []string
	if f.Owns > 0 {
		parts = append(parts, fmt.Sprintf("owns %d objects", f.Owns))
	}
	if f.Privileges > 0 {
		parts = append(parts, fmt.Sprintf("holds privileges on %d objects", f.Privileges))
	}
	if f.Policies > 0 {
		parts = append(parts, fmt.Sprintf("is named in %d policies", f.Policies))
	}
	return strings.Join(parts, " and ")
}

// checkSubscriptions reports logical replication subscriptions: in a tenant database
// they pour other data in (db.objects); anywhere else they are bridges.
func (a *auditor) checkSubscriptions(s *server, subs []tenantdb.Subscription) {
	for _, sub := range subs {
		if a.moveSubscription(s.cat.Name, sub) {
			continue
		}
		if t, ok := a.tenantDatabaseOn(s, sub.Database); ok {
			if a.inScope(t.Slug) {
				a.col.violation(CheckDBObjects, "", t.Slug, s.cat.Name, "subscription %s (owned by %s) exists in database %s", sub.Name, sub.Owner, sub.Database)
			}
			continue
		}
		if a.inScope("") {
			a.col.violation(CheckServerBridges, "", "", s.cat.Name, "subscription %s (owned by %s) exists in database %s on server %s", sub.Name, sub.Owner, sub.Database, s.cat.Name)
		}
	}
}

// checkSettings reports settings bound to a tenant database or to a tenant's roles:
// tenantctl sets none, and some (search_path, session_preload_libraries, role) change
// what runs in the tenant's sessions.
func (a *auditor) checkSettings(s *server, settings []tenantdb.RoleSetting) {
	for _, st := range settings {
		slug := ""
		if t, ok := a.tenantDatabaseOn(s, st.Database); ok {
			slug = t.Slug
		} else if t, ok := a.roleTenant(st.Role); ok && t.Server == s.cat.Name {
			slug = t.Slug
		}
		if slug == "" || !a.inScope(slug) {
			continue
		}
		where := "database " + st.Database
		switch {
		case st.Database == "":
			where = "role " + st.Role
		case st.Role != "":
			where = "role " + st.Role + " in database " + st.Database
		}
		a.col.violation(CheckDBSettings, "", slug, s.cat.Name, "settings are bound to %s: %s (tenantctl sets none; reconcile resets them)", where, strings.Join(st.Settings, ", "))
	}
}

// countSettings counts the tenant's settings check (the findings come from the
// server scan, which reads every setting of the server at once).
func (a *auditor) countSettings(t catalog.Tenant) {
	a.col.evaluated(CheckDBSettings, t.Slug)
}
