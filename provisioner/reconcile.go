package provisioner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Reconcile action kinds.
const (
	ActFinishProvisioning = "finish-provisioning"
	ActFinishPurge        = "finish-purge"
	ActFinishRotation     = "finish-rotation"
	ActReharden           = "reharden"
	ActFixLogin           = "fix-login"
	ActMissingDatabase    = "missing-database"
	ActMissingRole        = "missing-role"
	ActUnfixable          = "needs-superuser"
	ActOrphanDatabase     = "orphan-database"
	ActOrphanRole         = "orphan-role"
	ActServerUnreachable  = "server-unreachable"
	ActExpiredAccess      = "expired-access"
	ActRefillPool         = "refill-pool"
	ActFinishAccess       = "finish-access"
	ActOrphanAccess       = "orphan-access"
	ActHalfBuiltTemplate  = "half-built-template"
	ActAbandonedJob       = "abandoned-job"
	ActOwnerLogin         = "owner-login"
	ActAdminMembership    = "admin-membership"
)

// Action is one thing reconcile found, and whether it fixed it. Report-only kinds
// (orphans, missing databases, attributes only a superuser can change) are never applied.
type Action struct {
	Kind    string `json:"kind"`
	Tenant  string `json:"tenant,omitempty"`
	Server  string `json:"server,omitempty"`
	Detail  string `json:"detail"`
	Applied bool   `json:"applied"`
	Error   string `json:"error,omitempty"`
}

// ReconcileOptions tune [Provisioner.Reconcile].
type ReconcileOptions struct {
	// DryRun reports the plan and changes nothing.
	DryRun bool
	// Repairs run first, in order: other packages' repairs of their interrupted work
	// (the mover's moves and imports), injected by the caller.
	Repairs []Repair
	// Options are the fleet knobs: Concurrency bounds the servers inspected and
	// repaired at once (default 4); Progress is started with the number of servers and
	// told about each. Tenant must be empty (reconcile visits the whole fleet) and
	// PerServer is 1: one inventory per server.
	fleet.Options
}

// DefaultReconcileConcurrency bounds the servers reconcile works on at once.
const DefaultReconcileConcurrency = 4

// Validate checks the options and fills in defaults.
func (o *ReconcileOptions) Validate() error {
	if o.Tenant != "" {
		return validate.Field("tenant", o.Tenant, "reconcile visits the whole fleet")
	}
	return o.Prepare(fleet.Limits{Total: DefaultReconcileConcurrency, PerServer: 1})
}

// Reconcile brings the servers in line with the catalog: it finishes interrupted
// provisioning, purges and credential rotations, re-applies hardening and login state
// where they drifted, and reports — never drops — databases and roles named like
// tenants that the catalog does not know. It carries on past failures; the error
// joins them.
func (p *Provisioner) Reconcile(ctx context.Context, o ReconcileOptions) ([]Action, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	actions, errs := runRepairs(ctx, o.Repairs, o.DryRun)
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	do := actor(o.DryRun, &actions, &errs)

	// Interrupted lifecycle operations.
	for _, t := range tenants {
		switch {
		case t.State == catalog.StateProvisioning || t.State == catalog.StateFailed:
			do(Action{Kind: ActFinishProvisioning, Tenant: t.Slug, Server: t.Server,
				Detail: fmt.Sprintf("state %s after step %q", t.State, t.Step)}, func() error {
				_, err := p.finishCreate(ctx, t.ID, false)
				return err
			})
		case t.State == catalog.StateDeleting && t.Step == StepPurging:
			do(Action{Kind: ActFinishPurge, Tenant: t.Slug, Server: t.Server, Detail: "purge was interrupted"},
				func() error { return p.purgeID(ctx, t.ID) })
		}
		if t.State == catalog.StateActive || t.State == catalog.StateSuspended {
			if pending, err := p.rotationPending(ctx, t.ID); err != nil {
				errs = append(errs, err)
			} else if pending {
				do(Action{Kind: ActFinishRotation, Tenant: t.Slug, Server: t.Server, Detail: "credential rotation was interrupted"},
					p.lockedFix(ctx, t, func() error {
						// The rotation may have been running, not interrupted, when this run
						// read the catalog: it finished while this fix waited for the lock.
						if pending, err := p.rotationPending(ctx, t.ID); err != nil || !pending {
							return err
						}
						return p.finishRotation(ctx, t)
					}))
			}
		}
	}

	// Job runs whose process died: recorded as running forever otherwise.
	if ids, err := p.Store.CloseAbandonedJobs(ctx, true); err != nil {
		errs = append(errs, err)
	} else {
		for _, id := range ids {
			do(Action{Kind: ActAbandonedJob, Detail: fmt.Sprintf("job run %d is recorded as running but its process is gone; marking it failed", id)},
				func() error { _, err := p.Store.CloseAbandonedJob(ctx, id); return err })
		}
	}

	// Expired MSP access grants.
	grants, err := p.Store.ListAccessGrants(ctx, "", "")
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	accessRoles := map[string]bool{}
	for _, g := range grants {
		accessRoles[g.Role] = true
	}
	bySlug := map[string]catalog.Tenant{}
	for _, t := range tenants {
		bySlug[t.Slug] = t
	}
	for _, g := range expiredGrants(grants, time.Now()) {
		do(Action{Kind: ActExpiredAccess, Tenant: g.Slug, Detail: fmt.Sprintf("access of %s expired at %s", g.Login, g.ExpiresAt.UTC().Format(time.RFC3339))},
			p.lockedFix(ctx, bySlug[g.Slug], func() error { return p.revokeGrants(ctx, bySlug[g.Slug], []catalog.AccessGrant{g}) }))
	}

	// Drift and orphans, one inventory per server.
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	// Copies of moved tenants (a move's target, a source kept after one) are the
	// mover's business, not orphans.
	moveCopies, err := p.Store.MoveCopies(ctx)
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	// The database an in-place restore keeps (renamed) is the mover's business too.
	restoreCopies, err := p.Store.RestoreCopies(ctx)
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	spares, err := p.SpareIDs(ctx)
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	// One inventory per server, the servers worked on Concurrency at a time; each
	// server's actions are kept apart and joined in server order, so the report reads
	// the same however the servers interleave.
	ownerCreds, err := p.Store.CredentialHolders(ctx, catalog.OwnerCredential)
	if err != nil {
		return actions, errors.Join(append(errs, err)...)
	}
	in := reconcileInputs{tenants: tenants, grants: grants, accessRoles: accessRoles, spares: spares, moveCopies: moveCopies, restoreCopies: restoreCopies,
		ownerCreds: ownerCreds}
	outcomes := make([]serverOutcome, len(servers))
	idx := make([]int, len(servers))
	for i := range idx {
		idx[i] = i
	}
	rep := o.Progress.Start(len(servers))
	notStarted := fleet.Dispatch(ctx, idx, func(i int) string { return servers[i].Name }, o.Limits(),
		func(ctx context.Context, i int) serverOutcome {
			var out serverOutcome
			p.reconcileServer(ctx, servers[i], in, actor(o.DryRun, &out.actions, &out.errs), &out)
			return out
		},
		func(i int, out serverOutcome) bool {
			outcomes[i] = out
			rep.Done(servers[i].Name, errors.Join(out.errs...))
			return false
		})
	rep.Close()
	for _, out := range outcomes {
		actions = append(actions, out.actions...)
		errs = append(errs, out.errs...)
	}
	if len(notStarted) > 0 {
		errs = append(errs, fmt.Errorf("%d server(s) not reconciled: %w", len(notStarted), ctx.Err()))
	}
	actions = append(actions, p.reconcilePool(ctx, o.DryRun, &errs)...)
	return actions, errors.Join(errs...)
}

// actor returns reconcile's do: it applies fix (unless dryRun), records the action in
// *actions and a failed fix's error in *errs.
func actor(dryRun bool, actions *[]Action, errs *[]error) func(Action, func() error) {
	return func(a Action, fix func() error) {
		if !dryRun && fix != nil {
			if err := fix(); err != nil {
				a.Error = secret.Scrub(err.Error())
				*errs = append(*errs, fmt.Errorf("%s %s: %w", a.Kind, a.Tenant, err))
			} else {
				a.Applied = true
			}
			fpReconcileAction.Hit()
		}
		*actions = append(*actions, a)
	}
}

// reconcileInputs are what reconcile read once for every server.
type reconcileInputs struct {
	tenants     []catalog.Tenant
	grants      []catalog.AccessGrant
	accessRoles map[string]bool
	spares      map[string]map[string]bool
	moveCopies  map[string]map[string]bool
	// restoreCopies are the databases in-place restores keep (renamed), by server.
	restoreCopies map[string]map[string]string
	// ownerCreds are the tenants whose owner password the catalog holds.
	ownerCreds map[string]bool
}

// serverOutcome is one server's part of a reconcile: its actions and errors.
type serverOutcome struct {
	actions []Action
	errs    []error
}

// reconcileServer compares one server's inventory with the catalog: drift of its live
// tenants, privileges, access roles, half-built templates and orphans. do records into
// out; it runs on its own goroutine, beside the other servers'.
func (p *Provisioner) reconcileServer(ctx context.Context, s catalog.Server, in reconcileInputs, do func(Action, func() error), out *serverOutcome) {
	tenants, grants, accessRoles, spares, moveCopies := in.tenants, in.grants, in.accessRoles, in.spares, in.moveCopies
	srv, err := p.Server(ctx, s.Name)
	if err != nil {
		out.errs = append(out.errs, err)
		return
	}
	snap, err := srv.Snapshot(ctx)
	inv := snap.Inventory()
	if err != nil {
		out.actions = append(out.actions, Action{Kind: ActServerUnreachable, Server: s.Name, Detail: secret.Scrub(err.Error())})
		out.errs = append(out.errs, fmt.Errorf("server %s: %w", s.Name, err))
		return
	}
	known := map[string]catalog.Tenant{}
	for _, t := range tenants {
		if t.Server == s.Name {
			known[t.ID] = t
		}
	}
	for id := range spares[s.Name] {
		known[id] = catalog.Tenant{ID: id} // a spare of the warm pool, not an orphan
	}
	for _, t := range tenants {
		if t.Server != s.Name || (t.State != catalog.StateActive && t.State != catalog.StateSuspended) {
			continue
		}
		p.driftActions(ctx, srv, t, inv, accessRoles, in.ownerCreds, do)
	}
	p.membershipActions(ctx, srv, snap, tenants, spares[s.Name], in.ownerCreds, do)
	if err := p.reconcilePrivileges(ctx, srv, s.Name, tenants, grants, do); err != nil {
		out.errs = append(out.errs, fmt.Errorf("server %s: %w", s.Name, err))
	}
	p.accessActions(ctx, srv, snap, known, grants, do)
	for _, name := range sortedKeys(inv.Databases) {
		if strings.HasPrefix(name, tenantdb.TemplatePrefix) {
			if !tenantdb.TemplateReady(inv.Databases[name]) {
				do(Action{Kind: ActHalfBuiltTemplate, Server: s.Name,
					Detail: fmt.Sprintf("template %s was left half-built by an interrupted build; dropping it unless a build is running", name)},
					func() error { _, err := srv.DropHalfBuiltTemplate(ctx, name); return err })
			}
			continue
		}
		if _, ok := in.restoreCopies[s.Name][name]; ok {
			continue
		}
		if id, ok := tenantdb.ParseName(name); !ok || (known[id].ID == "" && !moveCopies[s.Name][id]) {
			do(Action{Kind: ActOrphanDatabase, Server: s.Name, Detail: fmt.Sprintf("database %s is named like a tenant but the catalog has no tenant for it on this server; left untouched", name)}, nil)
		}
	}
	for _, name := range sortedKeys(inv.Roles) {
		if id, ok := tenantdb.ParseName(name); !ok || (known[id].ID == "" && !moveCopies[s.Name][id]) {
			do(Action{Kind: ActOrphanRole, Server: s.Name, Detail: fmt.Sprintf("role %s is named like a tenant but the catalog has no tenant for it on this server; left untouched", name)}, nil)
		}
	}
}

// reconcilePool refills the warm pools (finishing or undoing what killed refills left)
// and reports what it did per server.
func (p *Provisioner) reconcilePool(ctx context.Context, dryRun bool, errs *[]error) []Action {
	results, err := p.RefillPool(ctx, "", dryRun)
	if err != nil {
		*errs = append(*errs, err)
	}
	var out []Action
	for _, r := range results {
		if !r.Changed() && r.Error == "" {
			continue
		}
		out = append(out, Action{Kind: ActRefillPool, Server: r.Server, Applied: !dryRun && r.Error == "", Error: r.Error,
			Detail: fmt.Sprintf("warm pool: target %d, built %d, finished %d, dropped %d", r.Target, r.Built, r.Finished, r.Dropped)})
	}
	return out
}

// lockedFix runs a reconcile fix for tenant t under the tenant's lock, and only if the
// tenant is still in the state reconcile saw: a tenant deleted, purged, suspended or
// resumed by another process since reconcile read the catalog is left for the next run
// (acting on the stale state would reopen a deleted tenant or recreate a purged one's
// roles). Another process holding the lock makes the fix fail with ErrBusy.
func (p *Provisioner) lockedFix(ctx context.Context, t catalog.Tenant, fix func() error) func() error {
	return func() error {
		unlock, err := p.lockTenant(ctx, t.ID)
		if err != nil {
			return err
		}
		defer unlock()
		cur, err := p.Store.GetTenantByID(ctx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != t.State || cur.Server != t.Server {
			p.Log.Info("tenant changed while reconcile ran; leaving it to the next run", "tenant", t.Slug, "was", t.State, "now", cur.State)
			return nil
		}
		return fix()
	}
}

// driftActions compares one live tenant with the server's inventory.
func (p *Provisioner) driftActions(ctx context.Context, srv *tenantdb.Server, t catalog.Tenant, inv tenantdb.Inventory,
	accessRoles, ownerCreds map[string]bool, do func(Action, func() error)) {
	unlocked := do
	do = func(a Action, fix func() error) {
		if fix != nil {
			fix = p.lockedFix(ctx, t, fix)
		}
		unlocked(a, fix)
	}
	db, ok := inv.Databases[tenantdb.Database(t.ID)]
	if !ok {
		do(Action{Kind: ActMissingDatabase, Tenant: t.Slug, Server: srv.Name,
			Detail: fmt.Sprintf("database %s is missing: restore it from backup; reconcile does not recreate a database holding customer data", tenantdb.Database(t.ID))}, nil)
		return
	}
	owner, app := tenantdb.OwnerRole(t.ID), tenantdb.AppRole(t.ID)
	for _, role := range []string{owner, app} {
		if _, ok := inv.Roles[role]; !ok {
			do(Action{Kind: ActMissingRole, Tenant: t.Slug, Server: srv.Name, Detail: "role " + role + " is missing; recreating it"},
				func() error { return p.restoreRoles(ctx, srv, t) })
			return
		}
	}
	var reasons []string
	if pub := db.PublicPrivileges(); len(pub) > 0 {
		reasons = append(reasons, "PUBLIC holds "+strings.Join(pub, ", "))
	}
	if db.Owner != owner {
		reasons = append(reasons, "database owner is "+db.Owner)
	}
	var strangers []string
	for _, g := range db.Grants {
		expected := g.Grantee == owner || g.Grantee == app || g.Grantee == srv.AdminRole() ||
			(accessRoles[g.Grantee] && tenantdb.IsAccessRole(g.Grantee, t.ID))
		if g.Grantee != "PUBLIC" && !expected && !slices.Contains(strangers, g.Grantee) {
			strangers = append(strangers, g.Grantee)
		}
	}
	if len(strangers) > 0 {
		reasons = append(reasons, "unexpected grantees "+strings.Join(strangers, ", "))
	}
	// A delete interrupted after it took CONNECT away leaves a live tenant whose
	// application cannot connect.
	if !slices.ContainsFunc(db.Grants, func(g tenantdb.Grant) bool { return g.Grantee == app && g.Privilege == "CONNECT" }) {
		reasons = append(reasons, "the app role lacks CONNECT")
	}
	// A tenant hardened before the admin got CONNECT in its own name: every admin
	// session on its database pays for all the admin's memberships until it has.
	if !slices.ContainsFunc(db.Grants, func(g tenantdb.Grant) bool { return g.Grantee == srv.AdminRole() && g.Privilege == "CONNECT" }) {
		reasons = append(reasons, "the admin role lacks CONNECT in its own name")
	}
	for _, role := range []string{owner, app} {
		r := inv.Roles[role]
		if r.CreateDB || r.CreateRole {
			reasons = append(reasons, role+" has CREATEDB or CREATEROLE")
		}
		if r.Superuser || r.Replication || r.BypassRLS {
			do(Action{Kind: ActUnfixable, Tenant: t.Slug, Server: srv.Name,
				Detail: role + " has SUPERUSER, REPLICATION or BYPASSRLS: a superuser must run ALTER ROLE " + role + " NOSUPERUSER NOREPLICATION NOBYPASSRLS"}, nil)
		}
	}
	if len(reasons) > 0 {
		do(Action{Kind: ActReharden, Tenant: t.Slug, Server: srv.Name, Detail: strings.Join(reasons, "; ")}, func() error {
			if err := srv.RevokeDatabaseGrants(ctx, t.ID, append([]string{"PUBLIC"}, strangers...)); err != nil {
				return err
			}
			switch {
			case db.Owner == srv.AdminRole():
				// The admin's own: a hand-over that never happened (CREATE DATABASE and the
				// hand-over cannot share a transaction). Finished here.
				if err := srv.HandOver(ctx, t.ID); err != nil {
					return err
				}
			case db.Owner != owner:
				return fmt.Errorf("database owner is %s: fix with ALTER DATABASE %s OWNER TO %s", db.Owner, db.Name, owner)
			}
			return p.restoreRoles(ctx, srv, t)
		})
	}
	// The owner logs in with its own sealed password, confined like the app role.
	if o := inv.Roles[owner]; !o.CanLogin || !slices.Contains(o.MemberOf, tenantdb.GroupRole(t.ID)) ||
		!slices.Contains(o.MemberOf, tenantdb.LoginsRole) || !ownerCreds[t.ID] {
		do(Action{Kind: ActOwnerLogin, Tenant: t.Slug, Server: srv.Name,
			Detail: "the owner role gets its own sealed password and LOGIN, confined to the tenant database like the app role"},
			func() error { return p.convertOwnerLogin(ctx, srv, t) })
	}
	if wantLogin := t.State == catalog.StateActive; inv.Roles[app].CanLogin != wantLogin {
		do(Action{Kind: ActFixLogin, Tenant: t.Slug, Server: srv.Name,
			Detail: fmt.Sprintf("app role LOGIN is %v but the tenant is %s", inv.Roles[app].CanLogin, t.State)},
			func() error { return srv.SetAppLogin(ctx, t.ID, wantLogin) })
	}
}

// accessActions finishes access grants the catalog records but the server does not hold
// finished (a grant interrupted after it was recorded), and drops access roles of this
// catalog's tenants that the catalog no longer records (a revoke interrupted after the
// catalog forgot it). Roles of tenants the catalog does not know, and roles tenantctl
// did not make, are left alone.
func (p *Provisioner) accessActions(ctx context.Context, srv *tenantdb.Server, snap tenantdb.Snapshot,
	known map[string]catalog.Tenant, grants []catalog.AccessGrant, do func(Action, func() error)) {
	recorded := map[string]bool{}
	now := time.Now()
	for _, g := range grants {
		t, ok := known[g.TenantID]
		if !ok {
			continue
		}
		recorded[g.Role] = true
		if g.ExpiresAt != nil && now.After(*g.ExpiresAt) {
			continue // revoked above
		}
		if ready, _ := tenantdb.AccessRoleReady(snap, g.Role); !ready {
			do(Action{Kind: ActFinishAccess, Tenant: t.Slug, Server: srv.Name,
				Detail: fmt.Sprintf("access of %s was interrupted before it was finished; finishing it", g.Login)}, p.lockedFix(ctx, t, func() error {
				pw, err := p.Store.AccessPassword(ctx, t.ID, g.Login)
				if errors.Is(err, catalog.ErrNoGrant) {
					return nil // revoked meanwhile
				}
				if err != nil {
					return err
				}
				return srv.GrantAccess(ctx, t.ID, g.Role, g.Level, pw, g.ExpiresAt)
			}))
		}
	}
	// Made by tenantctl: GrantAccess confines every access role it makes (a member of
	// its tenant's group role and of tenantctl_logins); older ones made the admin a
	// member of it (reconcile revokes that).
	madeByUs := func(name, id string) bool {
		of := snap.Roles[name].MemberOf
		return (slices.Contains(of, tenantdb.GroupRole(id)) && slices.Contains(of, tenantdb.LoginsRole)) ||
			slices.Contains(snap.Roles[srv.AdminRole()].MemberOf, name)
	}
	for _, name := range sortedKeys(snap.Roles) {
		// A role named like an access role that tenantctl did not make is not ours to
		// drop (hardening still takes its CONNECT away; the audit reports it).
		if !strings.HasPrefix(name, tenantdb.AccessPrefix) || recorded[name] {
			continue
		}
		for id, t := range known {
			if tenantdb.IsAccessRole(name, id) && madeByUs(name, id) {
				do(Action{Kind: ActOrphanAccess, Tenant: t.Slug, Server: srv.Name,
					Detail: fmt.Sprintf("access role %s is not in the catalog (a revoke was interrupted); dropping it", name)},
					p.lockedFix(ctx, t, func() error {
						// A grant recorded since reconcile read the catalog is not an orphan.
						grants, err := p.Store.ListAccessGrants(ctx, t.Slug, "")
						if err != nil {
							return err
						}
						if slices.ContainsFunc(grants, func(g catalog.AccessGrant) bool { return g.Role == name }) {
							return nil
						}
						return srv.RevokeAccessRole(ctx, id, name)
					}))
				break
			}
		}
	}
}

// restoreRoles re-creates or resets the tenant's roles (with the stored password and the
// login its state calls for) and re-applies hardening.
func (p *Provisioner) restoreRoles(ctx context.Context, srv *tenantdb.Server, t catalog.Tenant) error {
	pw, err := p.Store.Credential(ctx, t.ID, "app")
	if err != nil {
		return err
	}
	if err := p.WithOwnerPassword(ctx, t.ID, func(ownerPW string) error {
		return srv.EnsureRoles(ctx, t.ID, pw, ownerPW, t.State == catalog.StateActive)
	}); err != nil {
		return err
	}
	return srv.Harden(ctx, t.ID)
}

// convertOwnerLogin gives a tenant made before owner logins (or one whose owner
// credential was erased with a lost key) its owner login: a password sealed as pending,
// then the role's LOGIN, password and confinement in one implicit transaction, then the
// password promoted (see [Provisioner.WithOwnerPassword]). Killed anywhere, the rerun
// converges. Idempotent.
func (p *Provisioner) convertOwnerLogin(ctx context.Context, srv *tenantdb.Server, t catalog.Tenant) error {
	return p.WithOwnerPassword(ctx, t.ID, func(pw string) error { return srv.EnsureOwnerLogin(ctx, t.ID, pw) })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// membershipActions revokes the admin's standing memberships in the roles of the
// server's tenants and spares (owner, app, MSP access roles): the role design has the
// admin take a tenant role's rights for one transaction when it needs them
// (docs/performance.md, "Role design"), and every standing one makes each admin
// session on the server pay for all of them on PostgreSQL 15. A live tenant's are
// revoked once its owner logs in (owner-login, earlier in the same run): until then
// its migrations run as the admin with the owner's role. Each revoke is one
// statement, under the tenant's lock; killed between them, the rerun revokes the rest.
func (p *Provisioner) membershipActions(ctx context.Context, srv *tenantdb.Server, snap tenantdb.Snapshot, tenants []catalog.Tenant,
	spares map[string]bool, ownerCreds map[string]bool, do func(Action, func() error)) {
	admin := srv.AdminRole()
	if snap.Roles[admin].Superuser {
		return // a superuser needs no membership and its checks walk nothing
	}
	detail := func(roles []string) string {
		return "the admin role holds standing memberships in " + strings.Join(roles, ", ") +
			"; revoking them (it takes a tenant role's rights for one transaction when it needs them)"
	}
	for _, t := range tenants {
		if t.Server != srv.Name {
			continue
		}
		roles := tenantdb.AdminMemberships(snap, admin, t.ID)
		if len(roles) == 0 {
			continue
		}
		switch t.State {
		case catalog.StateActive, catalog.StateSuspended:
			if !ownerCreds[t.ID] {
				// Converted in this run (owner-login came first)? Else left for the next.
				if ok, err := p.Store.HasCredential(ctx, t.ID, catalog.OwnerCredential); err != nil || !ok {
					continue
				}
			}
		case catalog.StateDeleting:
		default:
			continue // being created, or gone: the run that owns it finishes it
		}
		t := t
		do(Action{Kind: ActAdminMembership, Tenant: t.Slug, Server: srv.Name, Detail: detail(roles)},
			p.lockedFix(ctx, t, func() error { return srv.RevokeAdminMemberships(ctx, t.ID, roles) }))
	}
	for _, id := range sortedKeys(spares) {
		if roles := tenantdb.AdminMemberships(snap, admin, id); len(roles) > 0 {
			do(Action{Kind: ActAdminMembership, Server: srv.Name, Detail: "spare " + tenantdb.Database(id) + ": " + detail(roles)},
				func() error { return srv.RevokeAdminMemberships(ctx, id, roles) })
		}
	}
}
