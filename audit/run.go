package audit

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/progress"
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
	// sem bounds the login probes open on the server at once (probes of tenants of
	// every server land here).
	sem chan struct{}
	// tenants are the live catalog tenants placed on it.
	tenants []catalog.Tenant
}

func (s *server) reachable() bool { return s.err == nil && s.handle != nil }

// reachableServers yields the servers that answered, in name order, with their names.
func (a *auditor) reachableServers() iter.Seq2[string, *server] {
	return func(yield func(string, *server) bool) {
		for _, name := range a.names {
			if s := a.servers[name]; s.reachable() && !yield(name, s) {
				return
			}
		}
	}
}

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

	// spares are the warm pools' spare databases, by server and id (audit/spares.go).
	spares map[string]map[string]catalog.Spare

	// access holds the MSP access grants recorded in the catalog, by tenant id.
	access map[string][]catalog.AccessGrant
	// ownerCreds are the tenants whose owner role's password the catalog holds: their
	// owner logs in (confined and probed like the app role).
	ownerCreds map[string]bool
	// moveCopies are copies of tenant databases the catalog expects because of a move
	// (its target while it runs, the source kept after it), by server then tenant id.
	moveCopies map[string]map[string]bool
	// restoreCopies are databases an in-place restore keeps (renamed, no login reaches
	// them), by server then database name (audit/moves.go).
	restoreCopies map[string]map[string]string
	// logicalMoves are the open moves by logical replication, by tenant id: their
	// publication and subscription are expected (audit/moves.go).
	logicalMoves map[string]catalog.Move

	warehouse *warehouseTarget
	notes     []string
	probes    ProbeSummary
	// silentTargets are the probe targets (by their connection bound) that let an
	// attempt time out in this run: not tried again (col.mu guards it).
	silentTargets map[chan struct{}]bool

	// hostile holds what the checks against a careless or hostile admin read.
	hostile *hostile
	// auth holds what the authentication checks read (audit/auth.go).
	auth *authState
	// exposed holds the doors to a whole server found inside tenant databases.
	exposed exposures

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
	defer a.close()
	if err := a.load(ctx); err != nil {
		return Report{}, err
	}
	a.phase("catalog")
	if err := a.loadSpares(ctx); err != nil { // before the servers too: a spare dropped meanwhile is no orphan
		return Report{}, err
	}
	a.snapshotServers(ctx)
	a.scanServers(ctx)
	if err := a.readAuth(ctx); err != nil {
		return Report{}, err
	}
	if err := a.refreshTenants(ctx); err != nil {
		return Report{}, err
	}
	a.phase("servers")
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	for _, t := range a.audited {
		a.checkTenantConfig(t)
		a.checkTenantHostile(t)
	}
	a.checkFleetHostile()
	a.checkHBA()
	a.checkServerDatabases()
	a.checkSharedRoles()
	a.checkUnreachableServers()
	a.checkNames()
	if err := a.loadSpares(ctx); err != nil {
		return Report{}, err
	}
	a.checkSpares(ctx)
	a.checkTemplates(ctx)
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
	a.checkExposures()
	a.phase("databases")
	plan := a.planProbes()
	if err := a.forTenants(ctx, !a.o.NoProbes, func(ctx context.Context, t catalog.Tenant) {
		if p, ok := plan[t.ID]; ok {
			a.runProbes(ctx, t, p)
		}
	}); err != nil {
		return Report{}, err
	}
	a.runServerProbes(ctx, plan)
	a.phase("probes")
	r := a.report(started, time.Now().UTC())
	r.Phases = a.phases
	a.o.Log.Debug("audit phases", "catalog", a.phases["catalog"], "servers", a.phases["servers"], "checks", a.phases["checks"],
		"databases", a.phases["databases"], "probes", a.phases["probes"])
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
		catalog.StatePurged, catalog.StateFailed, catalog.StateMoving, catalog.StateImporting,
		catalog.StateRestoring,
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
	if a.ownerCreds, err = st.CredentialHolders(ctx, catalog.OwnerCredential); err != nil {
		return err
	}
	if a.moveCopies, err = st.MoveCopies(ctx); err != nil {
		return err
	}
	if a.restoreCopies, err = st.RestoreCopies(ctx); err != nil {
		return err
	}
	if a.logicalMoves, err = openLogicalMoves(ctx, st); err != nil {
		return err
	}
	servers, err := st.ListServers(ctx)
	if err != nil {
		return fmt.Errorf("list servers: %w", err)
	}
	handles := a.o.Servers
	if handles == nil {
		handles = fleet.NewServers(st)
		defer handles.Close() // the audit uses read-only copies of the handles
	}
	for _, cs := range servers {
		s := &server{cat: cs, sem: make(chan struct{}, a.o.PerServer)}
		h, err := handles.Open(ctx, cs)
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

// close closes the read-only handles' connections.
func (a *auditor) close() {
	for _, s := range a.servers {
		if s.handle != nil {
			s.handle.Close()
		}
	}
}

// limits are the audit's bounds on connections: Concurrency overall, PerServer on one
// server.
func (a *auditor) limits() fleet.Limits {
	return fleet.Limits{Total: a.o.Concurrency, PerServer: a.o.PerServer}
}

// snapshotServers reads every server's shared catalogs, a few servers at a time.
func (a *auditor) snapshotServers(ctx context.Context) {
	var names []string
	for _, name := range a.names {
		if a.servers[name].err == nil {
			names = append(names, name)
		}
	}
	notStarted := fleet.Dispatch(ctx, names, func(name string) string { return name }, a.limits(),
		func(ctx context.Context, name string) struct{} {
			s := a.servers[name]
			snap, err := s.handle.Snapshot(ctx)
			if err != nil {
				s.err = err
				a.o.Log.Warn("server unreachable", "server", name, "error", err)
				return struct{}{}
			}
			s.snap, s.members = snap, snap.Members()
			return struct{}{}
		},
		func(string, struct{}) bool { return false })
	for _, name := range notStarted {
		a.servers[name].err = ctx.Err()
	}
}

// forTenants runs fn for every audited tenant, Concurrency at a time and PerServer at a
// time on one server, and reports progress when report is set.
func (a *auditor) forTenants(ctx context.Context, report bool, fn func(ctx context.Context, t catalog.Tenant)) error {
	var rep progress.Reporter
	if report {
		rep = a.o.Progress.Start(len(a.audited))
		defer rep.Close()
	}
	fleet.Dispatch(ctx, a.audited, func(t catalog.Tenant) string { return t.Server }, a.limits(),
		func(ctx context.Context, t catalog.Tenant) struct{} { fn(ctx, t); return struct{}{} },
		func(t catalog.Tenant, _ struct{}) bool {
			if rep != nil {
				rep.Done(t.Slug, nil)
			}
			return false
		})
	return ctx.Err()
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
	r.Notes = append(r.Notes, c.tenantNotes()...)
	sort.Strings(r.Notes)
	if r.Notes == nil {
		r.Notes = []string{}
	}
	return r
}
