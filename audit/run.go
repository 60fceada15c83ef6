package audit

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// server is one registered server as the audit sees it.
type server struct {
	cat    catalog.Server
	handle *tenantdb.Server // read-only sessions
	snap   tenantdb.Snapshot
	// members inverts the snapshot's memberships: role -> its direct members.
	members map[string][]string
	err     error // not reachable
	sem     chan struct{}
	// tenants are the live catalog tenants placed on it.
	tenants []catalog.Tenant
}

func (s *server) reachable() bool { return s.err == nil && s.handle != nil }

// acquire takes one of the server's connection slots.
func (s *server) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *server) release() { <-s.sem }

// auditor holds one run's state.
type auditor struct {
	o   Options
	col *collector

	all     []catalog.Tenant          // every catalog tenant, purged too
	byID    map[string]catalog.Tenant // by id, every tenant
	live    []catalog.Tenant          // not purged
	audited []catalog.Tenant          // live and in scope
	servers map[string]*server
	names   []string // server names, sorted

	// access holds the MSP access grants recorded in the catalog, by tenant id.
	access map[string][]catalog.AccessGrant

	warehouse *warehouseTarget
	notes     []string
	probes    ProbeSummary

	phases    map[string]time.Duration
	lastPhase time.Time
	now       time.Time
}

// phase records how long the phase that just ended took.
func (a *auditor) phase(name string) {
	now := time.Now()
	a.phases[name] = now.Sub(a.lastPhase)
	a.lastPhase = now
}

// Run audits the fleet (or one tenant) and returns the report. It changes nothing on any
// server; unless o.NoHistory, it records the run in the catalog's audit history, with
// what changed since the previous run of the same scope. An error means the audit
// could not run (no catalog, bad key, unknown tenant); violations are in the report
// ([Report.Err] turns them into an error).
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	a := &auditor{o: o, col: newCollector(), servers: map[string]*server{}, byID: map[string]catalog.Tenant{},
		phases: map[string]time.Duration{}, lastPhase: time.Now(), now: time.Now()}
	started := time.Now().UTC()
	if err := a.load(ctx); err != nil {
		return Report{}, err
	}
	a.phase("catalog")
	a.snapshotServers(ctx)
	if err := a.refreshTenants(ctx); err != nil {
		return Report{}, err
	}
	a.phase("servers")
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	for _, t := range a.audited {
		a.checkTenantConfig(t)
	}
	a.checkUnreachableServers()
	a.checkNames()
	if a.o.Tenant == "" {
		a.checkDrift()
	} else {
		a.notef("one-tenant audit: fleet-wide drift checks (orphan databases and roles) were not run")
	}
	if err := a.checkWarehouse(ctx); err != nil {
		return Report{}, err
	}
	a.phase("checks")
	if err := a.forTenants(ctx, a.o.NoProbes, a.inspect); err != nil {
		return Report{}, err
	}
	a.phase("databases")
	plan := a.planProbes()
	if err := a.forTenants(ctx, !a.o.NoProbes, func(ctx context.Context, t catalog.Tenant) {
		if p, ok := plan[t.ID]; ok {
			a.runProbes(ctx, t, p)
		}
	}); err != nil {
		return Report{}, err
	}
	a.phase("probes")
	r := a.report(started, time.Now().UTC())
	r.Phases = a.phases
	if o.NoHistory {
		if _, err := r.seal(); err != nil {
			return r, err
		}
		return r, nil
	}
	if err := record(ctx, o.Store, &r, o.Node); err != nil {
		return r, fmt.Errorf("record audit run: %w", err)
	}
	return r, nil
}

func (a *auditor) notef(format string, args ...any) {
	a.notes = append(a.notes, fmt.Sprintf(format, args...))
}

// load reads tenants and servers from the catalog and opens read-only handles on the
// servers.
func (a *auditor) load(ctx context.Context) error {
	st := a.o.Store
	if _, err := st.Box(ctx); err != nil {
		return err
	}
	if a.o.Tenant != "" {
		if _, err := st.GetTenant(ctx, a.o.Tenant); err != nil {
			return err
		}
	}
	all, err := st.ListTenants(ctx, catalog.TenantFilter{States: []string{
		catalog.StateProvisioning, catalog.StateActive, catalog.StateSuspended, catalog.StateDeleting,
		catalog.StatePurged, catalog.StateFailed,
	}})
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	a.all = all
	for _, t := range all {
		a.byID[t.ID] = t
		if !t.Live() {
			continue
		}
		a.live = append(a.live, t)
		if a.o.Tenant == "" || t.Slug == a.o.Tenant {
			a.audited = append(a.audited, t)
		}
	}
	// A purged tenant's id may appear twice only by a bug; the live one wins.
	for _, t := range a.live {
		a.byID[t.ID] = t
	}
	grants, err := st.ListAccessGrants(ctx, "", "")
	if err != nil {
		return fmt.Errorf("list access grants: %w", err)
	}
	a.access = map[string][]catalog.AccessGrant{}
	for _, g := range grants {
		a.access[g.TenantID] = append(a.access[g.TenantID], g)
	}
	servers, err := st.ListServers(ctx)
	if err != nil {
		return fmt.Errorf("list servers: %w", err)
	}
	for _, cs := range servers {
		s := &server{cat: cs, sem: make(chan struct{}, a.o.PerServer)}
		dsn, err := st.ServerDSN(ctx, cs.Name)
		if err != nil {
			return fmt.Errorf("server %q: %w", cs.Name, err)
		}
		h, err := tenantdb.NewServer(cs.Name, dsn, cs.VersionNum, cs.CloneStrategy)
		if err != nil {
			s.err = err
		} else {
			s.handle = h.ReadOnly(a.o.ConnectTimeout)
		}
		a.servers[cs.Name] = s
		a.names = append(a.names, cs.Name)
	}
	sort.Strings(a.names)
	for _, t := range a.live {
		if s, ok := a.servers[t.Server]; ok {
			s.tenants = append(s.tenants, t)
		}
	}
	return nil
}

// refreshTenants reads the catalog's tenants again after the servers were read: a tenant
// created meanwhile has a database the first read did not know, which is not an orphan.
func (a *auditor) refreshTenants(ctx context.Context) error {
	now, err := a.o.Store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	for _, t := range now {
		if _, known := a.byID[t.ID]; !known {
			a.byID[t.ID] = t
		}
	}
	return nil
}

// snapshotServers reads every server's shared catalogs, a few servers at a time.
func (a *auditor) snapshotServers(ctx context.Context) {
	g := errgroup.Group{}
	g.SetLimit(a.o.Concurrency)
	for _, name := range a.names {
		s := a.servers[name]
		if s.err != nil {
			continue
		}
		g.Go(func() error {
			if err := s.acquire(ctx); err != nil {
				s.err = err
				return nil
			}
			defer s.release()
			snap, err := s.handle.Snapshot(ctx)
			if err != nil {
				s.err = err
				a.o.Log.Warn("server unreachable", "server", name, "error", err)
				return nil
			}
			s.snap, s.members = snap, snap.Members()
			return nil
		})
	}
	_ = g.Wait()
}

// states in which a tenant must have its database and roles.
func expectsDatabase(state string) bool {
	return state == catalog.StateActive || state == catalog.StateSuspended || state == catalog.StateDeleting
}

// tenantOfName names the catalog tenant a tenant-named role or database belongs to,
// for evidence: "tenant beta", "a purged tenant", "no catalog tenant".
func (a *auditor) tenantOfName(name string) string {
	id, ok := tenantdb.ParseName(name)
	if !ok {
		return "no catalog tenant"
	}
	t, ok := a.byID[id]
	switch {
	case !ok:
		return "no catalog tenant"
	case !t.Live():
		return "purged tenant " + t.Slug
	default:
		return "tenant " + t.Slug
	}
}

// checkTenantConfig runs the checks that read the server snapshot for one tenant.
func (a *auditor) checkTenantConfig(t catalog.Tenant) {
	s, ok := a.servers[t.Server]
	a.col.evaluated(CheckServerReachable, t.Slug)
	if !ok {
		a.col.violation(CheckServerReachable, Critical, t.Slug, t.Server,
			"the catalog places the tenant on server %q, which is not registered", t.Server)
		return
	}
	if !s.reachable() {
		a.col.violation(CheckServerReachable, Critical, t.Slug, t.Server,
			"server %s cannot be inspected, so the tenant's isolation is unproven: %v", t.Server, s.err)
		return
	}
	dbName := tenantdb.Database(t.ID)
	owner, app := tenantdb.OwnerRole(t.ID), tenantdb.AppRole(t.ID)

	d, exists := s.snap.Databases[dbName]
	if expectsDatabase(t.State) {
		a.col.evaluated(CheckDBExists, t.Slug)
		if !exists {
			var elsewhere []string
			for _, name := range a.names {
				if o := a.servers[name]; name != t.Server && o.reachable() {
					if _, ok := o.snap.Databases[dbName]; ok {
						elsewhere = append(elsewhere, name)
					}
				}
			}
			if len(elsewhere) > 0 {
				a.col.violation(CheckDBExists, "", t.Slug, t.Server, "database %s is not on server %s, where the catalog places it, but on %s",
					dbName, t.Server, strings.Join(elsewhere, ", "))
			} else {
				a.col.violation(CheckDBExists, "", t.Slug, t.Server, "database %s does not exist on server %s (tenant state %s)", dbName, t.Server, t.State)
			}
		}
	} else if !exists {
		a.notef("tenant %s is %s and has no database yet: database checks skipped for it", t.Slug, t.State)
	}

	if exists {
		a.col.evaluated(CheckDBOwner, t.Slug)
		if d.Owner != owner {
			a.col.violation(CheckDBOwner, "", t.Slug, t.Server, "database %s is owned by %s, not by the tenant's owner role %s", dbName, d.Owner, owner)
		}
		a.col.evaluated(CheckDBPublicACL, t.Slug)
		if pub := d.PublicPrivileges(); len(pub) > 0 {
			sev := High
			if slices.Contains(pub, "CONNECT") {
				sev = Critical
			}
			a.col.violation(CheckDBPublicACL, sev, t.Slug, t.Server, "PUBLIC holds %s on database %s", strings.Join(pub, ", "), dbName)
		}
		a.col.evaluated(CheckDBConnectRoles, t.Slug)
		a.checkConnectRoles(t, s, d)
	}

	for _, role := range []string{owner, app} {
		r, ok := s.snap.Roles[role]
		if expectsDatabase(t.State) {
			a.col.evaluated(CheckMissingRole, t.Slug)
			if !ok {
				a.col.violation(CheckMissingRole, "", t.Slug, t.Server, "role %s does not exist on server %s (tenant state %s)", role, t.Server, t.State)
			}
		}
		if !ok {
			continue
		}
		a.col.evaluated(CheckRoleAttributes, t.Slug)
		a.checkRoleAttributes(t, s, r, role == owner)
		a.col.evaluated(CheckRoleMembership, t.Slug)
		a.checkRoleMembership(t, s, r)
	}
}

// checkConnectRoles finds every role that can connect to the tenant database: the
// grantees of CONNECT and, transitively, their members. Expected are the tenant's own
// roles, the server's admin role and the roles of unexpired MSP access grants recorded
// in the catalog. Superusers bypass privileges and are listed per server instead.
func (a *auditor) checkConnectRoles(t catalog.Tenant, s *server, d tenantdb.DBInfo) {
	expected := map[string]bool{tenantdb.OwnerRole(t.ID): true, tenantdb.AppRole(t.ID): true, s.cat.AdminRole: true}
	expired := map[string]catalog.AccessGrant{}
	for _, g := range a.access[t.ID] {
		if !tenantdb.IsAccessRole(g.Role, t.ID) {
			continue // not a role for this tenant, whatever the catalog says
		}
		if g.ExpiresAt != nil && a.now.After(*g.ExpiresAt) {
			expired[g.Role] = g
			continue
		}
		expected[g.Role] = true
	}
	// parent[role] is the role through which role reaches the database ("" for a
	// direct grantee of CONNECT).
	parent := map[string]string{}
	var queue []string
	for _, g := range d.Grants {
		if g.Privilege != "CONNECT" || g.Grantee == "PUBLIC" {
			continue // PUBLIC is db.public_acl's business
		}
		if _, seen := parent[g.Grantee]; !seen {
			parent[g.Grantee] = ""
			queue = append(queue, g.Grantee)
		}
	}
	for len(queue) > 0 {
		role := queue[0]
		queue = queue[1:]
		for _, m := range s.members[role] {
			if _, seen := parent[m]; !seen {
				parent[m] = role
				queue = append(queue, m)
			}
		}
	}
	how := func(role string) string {
		var chain []string
		for p := parent[role]; p != ""; p = parent[p] {
			chain = append(chain, p)
		}
		if len(chain) == 0 {
			return "it holds CONNECT"
		}
		return "it is a member of " + strings.Join(chain, ", a member of ") + ", which holds CONNECT"
	}
	via := parent
	var unexpected []string
	for role := range via {
		if expected[role] || s.snap.Roles[role].Superuser {
			continue
		}
		unexpected = append(unexpected, role)
	}
	sort.Strings(unexpected)
	for _, role := range unexpected {
		if g, ok := expired[role]; ok {
			a.col.violation(CheckDBConnectRoles, Medium, t.Slug, t.Server, "role %s can connect to database %s although the MSP access of %s expired at %s (reconcile revokes it)",
				role, tenantdb.Database(t.ID), g.Login, g.ExpiresAt.UTC().Format(time.RFC3339))
			continue
		}
		who := "role " + role
		if tenantdb.LooksLikeTenant(role) {
			who += " (" + a.tenantOfName(role) + ")"
		}
		a.col.violation(CheckDBConnectRoles, "", t.Slug, t.Server, "%s can connect to database %s: %s", who, tenantdb.Database(t.ID), how(role))
	}
}

func (a *auditor) checkRoleAttributes(t catalog.Tenant, s *server, r tenantdb.RoleInfo, isOwner bool) {
	var issues []string
	sev := ""
	add := func(cond bool, severity, what string) {
		if cond {
			issues = append(issues, what)
			sev = maxSeverity(sev, severity)
		}
	}
	add(r.Superuser, Critical, "SUPERUSER")
	add(r.BypassRLS, High, "BYPASSRLS")
	add(r.CreateRole, High, "CREATEROLE")
	add(r.CreateDB, High, "CREATEDB")
	add(r.Replication, High, "REPLICATION")
	add(isOwner && r.CanLogin, High, "LOGIN on the owner role (it must be NOLOGIN)")
	add(!isOwner && r.CanLogin && (t.State == catalog.StateSuspended || t.State == catalog.StateDeleting), High,
		"LOGIN although the tenant is "+t.State)
	add(r.ConnLimit < 0, Low, "no connection limit")
	if len(issues) > 0 {
		a.col.violation(CheckRoleAttributes, sev, t.Slug, s.cat.Name, "role %s has %s", r.Name, strings.Join(issues, ", "))
	}
}

// checkRoleMembership walks every role the tenant role is a member of, directly or
// through other roles. A tenant role is expected to be a member of nothing.
func (a *auditor) checkRoleMembership(t catalog.Tenant, s *server, r tenantdb.RoleInfo) {
	via := map[string]string{}
	queue := []string{}
	for _, g := range r.MemberOf {
		if _, seen := via[g]; !seen {
			via[g] = ""
			queue = append(queue, g)
		}
	}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		for _, gg := range s.snap.Roles[g].MemberOf {
			if _, seen := via[gg]; !seen && gg != r.Name {
				via[gg] = g
				queue = append(queue, gg)
			}
		}
	}
	groups := make([]string, 0, len(via))
	for g := range via {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		path := ""
		if via[g] != "" {
			path = " (through " + via[g] + ")"
		}
		id, isTenant := tenantdb.ParseName(g)
		switch {
		case isTenant && id == t.ID:
			a.col.violation(CheckRoleMembership, Medium, t.Slug, s.cat.Name, "role %s is a member of the tenant's own role %s%s: the application would gain the owner's rights", r.Name, g, path)
		case isTenant || tenantdb.LooksLikeTenant(g):
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of %s (%s)%s", r.Name, g, a.tenantOfName(g), path)
		case predefinedCrossRoles[g]:
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of the predefined role %s%s, which reaches across databases or the server", r.Name, g, path)
		case g == s.cat.AdminRole:
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of the admin role %s%s, which is a member of every tenant's roles", r.Name, g, path)
		case strings.HasPrefix(g, "pg_"):
			a.col.violation(CheckRoleMembership, High, t.Slug, s.cat.Name, "role %s is a member of the predefined role %s%s", r.Name, g, path)
		default:
			a.col.violation(CheckRoleMembership, Medium, t.Slug, s.cat.Name, "role %s is a member of role %s%s: tenant roles must be members of nothing", r.Name, g, path)
		}
	}
}

// checkUnreachableServers reports servers that could not be inspected and hold no
// audited tenant (those with tenants are reported once per tenant).
func (a *auditor) checkUnreachableServers() {
	if a.o.Tenant != "" {
		return
	}
	for _, name := range a.names {
		s := a.servers[name]
		if len(s.tenants) > 0 {
			continue
		}
		a.col.evaluated(CheckServerReachable, "")
		if !s.reachable() {
			a.col.violation(CheckServerReachable, High, "", name, "server %s cannot be inspected: %v", name, s.err)
		}
	}
}

// checkDrift finds databases and roles named like tenants that the catalog does not
// place on the server where they are.
func (a *auditor) checkDrift() {
	for _, name := range a.names {
		s := a.servers[name]
		if !s.reachable() {
			continue
		}
		inv := s.snap.Inventory()
		known := func(id string) bool {
			t, ok := a.byID[id]
			return ok && t.Live() && t.Server == name
		}
		dbs := make([]string, 0, len(inv.Databases))
		for db := range inv.Databases {
			if tenantdb.LooksLikeTenant(db) {
				dbs = append(dbs, db)
			}
		}
		sort.Strings(dbs)
		for _, db := range dbs {
			a.col.evaluated(CheckOrphanDatabase, "")
			id, ok := tenantdb.ParseName(db)
			if ok && db == tenantdb.Database(id) && known(id) {
				continue
			}
			a.driftViolation(CheckOrphanDatabase, "database", db, id, ok && db == tenantdb.Database(id), name)
		}
		roles := make([]string, 0, len(inv.Roles))
		for r := range inv.Roles {
			roles = append(roles, r)
		}
		sort.Strings(roles)
		for _, role := range roles {
			a.col.evaluated(CheckOrphanRole, "")
			id, ok := tenantdb.ParseName(role)
			isRole := ok && (role == tenantdb.OwnerRole(id) || role == tenantdb.AppRole(id))
			if isRole && known(id) {
				continue
			}
			a.driftViolation(CheckOrphanRole, "role", role, id, isRole, name)
		}
	}
}

func (a *auditor) driftViolation(check, kind, name, id string, wellFormed bool, srv string) {
	t, inCatalog := a.byID[id]
	switch {
	case !wellFormed:
		a.col.violation(check, "", "", srv, "%s %s on server %s is named like a tenant's but is no tenantctl name", kind, name, srv)
	case !inCatalog:
		a.col.violation(check, "", "", srv, "%s %s on server %s belongs to no catalog tenant", kind, name, srv)
	case !t.Live():
		a.col.violation(check, "", "", srv, "%s %s on server %s belongs to tenant %s, which was purged", kind, name, srv, t.Slug)
	default:
		a.col.violation(check, High, t.Slug, srv, "%s %s on server %s belongs to tenant %s, which the catalog places on %s", kind, name, srv, t.Slug, t.Server)
	}
}

// forTenants runs fn for every audited tenant, Concurrency at a time, and reports
// progress when done is set.
func (a *auditor) forTenants(ctx context.Context, done bool, fn func(ctx context.Context, t catalog.Tenant)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.o.Concurrency)
	for _, t := range a.audited {
		g.Go(func() error {
			fn(gctx, t)
			if done && a.o.Progress != nil {
				a.o.Progress.Done(t.Slug, nil)
			}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// inspect checks what is inside the tenant database: extensions, foreign servers and
// object ownership, with one query on one connection.
func (a *auditor) inspect(ctx context.Context, t catalog.Tenant) {
	s, ok := a.servers[t.Server]
	if !ok || !s.reachable() {
		return
	}
	dbName := tenantdb.Database(t.ID)
	d, exists := s.snap.Databases[dbName]
	if !exists {
		return
	}
	if !d.AllowConn {
		a.noteSync("database %s of tenant %s does not accept connections: its contents were not inspected", dbName, t.Slug)
		return
	}
	a.col.evaluated(CheckDBExtensions, t.Slug)
	a.col.evaluated(CheckDBObjectOwner, t.Slug)
	if err := s.acquire(ctx); err != nil {
		return
	}
	c, err := s.handle.InspectDatabase(ctx, t.ID)
	s.release()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		a.col.violation(CheckDBExtensions, High, t.Slug, t.Server, "database %s could not be inspected, so its contents are unproven: %v", dbName, err)
		return
	}
	for _, ext := range c.Extensions {
		if crossDatabaseExtensions[ext] {
			a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "extension %s is installed in database %s", ext, dbName)
		}
	}
	for _, w := range c.ForeignDataWrappers {
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "foreign data wrapper %s exists in database %s", w, dbName)
	}
	for _, fs := range c.ForeignServers {
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "foreign server %s exists in database %s", fs, dbName)
	}
	for _, um := range c.UserMappings {
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "user mapping %s exists in database %s", um, dbName)
	}
	if c.ForeignOwnedCount > 0 {
		more := ""
		if c.ForeignOwnedCount > len(c.ForeignOwned) {
			more = fmt.Sprintf(" (first %d shown)", len(c.ForeignOwned))
		}
		sev := Medium
		for _, what := range c.ForeignOwned {
			if i := strings.LastIndex(what, " owned by "); i >= 0 && tenantdb.LooksLikeTenant(what[i+len(" owned by "):]) {
				sev = High
			}
		}
		a.col.violation(CheckDBObjectOwner, sev, t.Slug, t.Server, "%d objects in database %s are not owned by %s: %s%s",
			c.ForeignOwnedCount, dbName, tenantdb.OwnerRole(t.ID), strings.Join(c.ForeignOwned, "; "), more)
	}
}

func (a *auditor) noteSync(format string, args ...any) {
	a.col.mu.Lock()
	defer a.col.mu.Unlock()
	a.notef(format, args...)
}

// report assembles the run's report.
func (a *auditor) report(started, finished time.Time) Report {
	c := a.col
	r := Report{
		Tenants:    len(a.audited),
		Violations: slices.Clone(c.violations),
		StartedAt:  started.Truncate(time.Millisecond),
		FinishedAt: finished.Truncate(time.Millisecond),
		Scope:      Scope{Tenant: a.o.Tenant, Probes: !a.o.NoProbes, Warehouse: a.warehouse != nil, Servers: len(a.names)},
		Probes:     a.probes,
		Notes:      slices.Clone(a.notes),
		Summary:    []CheckSummary{},
		Results:    []TenantResult{},
		Servers:    []ServerResult{},
	}
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	slices.SortFunc(r.Violations, compareViolations)
	r.Violations = slices.CompactFunc(r.Violations, func(x, y Violation) bool { return compareViolations(x, y) == 0 })
	r.Passed = len(r.Violations) == 0
	byCheck := map[string]int{}
	byTenant := map[string]int{}
	for _, v := range r.Violations {
		byCheck[v.Check]++
		if v.Tenant != "" {
			byTenant[v.Tenant]++
		}
	}
	for _, ci := range Checks {
		n := c.evals[ci.ID]
		r.Checks += n
		if n == 0 && byCheck[ci.ID] == 0 {
			continue
		}
		r.Summary = append(r.Summary, CheckSummary{Check: ci.ID, Severity: ci.Severity, Evaluated: n, Violations: byCheck[ci.ID], Description: ci.Description})
	}
	for _, t := range a.audited {
		r.Results = append(r.Results, TenantResult{
			Tenant: t.Slug, ID: t.ID, Server: t.Server, State: t.State,
			Checks: c.tenant[t.Slug], Violations: byTenant[t.Slug], Probes: c.probes[t.Slug], Passed: byTenant[t.Slug] == 0,
		})
	}
	for _, name := range a.names {
		s := a.servers[name]
		sr := ServerResult{Name: name, Reachable: s.reachable(), Tenants: len(s.tenants), Superusers: []string{}}
		if s.reachable() {
			sr.Databases, sr.Roles, sr.Queries = len(s.snap.Databases), len(s.snap.Roles), s.snap.Queries
			for _, role := range s.snap.Roles {
				if role.Superuser {
					sr.Superusers = append(sr.Superusers, role.Name)
				}
			}
			sort.Strings(sr.Superusers)
		} else if s.err != nil {
			sr.Error = s.err.Error()
		}
		r.Servers = append(r.Servers, sr)
	}
	sort.Strings(r.Notes)
	if r.Notes == nil {
		r.Notes = []string{}
	}
	return r
}
