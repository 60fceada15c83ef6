package provisioner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Reconcile action kinds for what a careless or hostile admin changes inside tenant
// databases and around them.
const (
	ActConfine          = "confine"
	ActRepairPrivileges = "repair-privileges"
	ActRebuildTemplate  = "rebuild-template"
)

// reconcilePrivileges repairs, for every active and suspended tenant on one server,
// what the audit's db.inspectable, db.privileges, db.settings and role.confinement
// checks report and can be undone safely: a database closed to connections or marked
// as a template, privileges tenantctl does not grant (inside the database and
// CREATE/TEMPORARY on it), settings bound to the database or its roles, and missing
// confinement memberships. It reads the server's shared catalogs once and each tenant
// database's access lists on one connection.
func (p *Provisioner) reconcilePrivileges(ctx context.Context, srv *tenantdb.Server, server string, tenants []catalog.Tenant,
	grants []catalog.AccessGrant, do func(Action, func() error)) error {
	snap, err := srv.Snapshot(ctx)
	if err != nil {
		return err
	}
	scan, err := srv.ScanServer(ctx)
	if err != nil {
		return err
	}
	// A template holding what another role owns or was granted would hand it to every
	// tenant cloned from it. Templates hold no customer data and are rebuilt on the
	// next tenant create, so dropping one is safe.
	tainted := map[string][]string{}
	for _, f := range scan.Footprints {
		if strings.HasPrefix(f.Database, tenantdb.TemplatePrefix) && f.Role != tenantdb.TemplateOwnerRole && f.Role != srv.AdminRole() {
			tainted[f.Database] = append(tainted[f.Database], f.Role)
		}
	}
	for _, name := range sortedKeys(tainted) {
		do(Action{Kind: ActRebuildTemplate, Server: server, Detail: fmt.Sprintf("template %s holds objects or privileges of %s: dropping it; the next tenant create rebuilds it",
			name, strings.Join(tainted[name], ", "))}, func() error { return srv.DropTemplate(ctx, name) })
	}
	now := time.Now()
	for _, t := range tenants {
		if t.Server != server || (t.State != catalog.StateActive && t.State != catalog.StateSuspended) {
			continue
		}
		d, ok := snap.Databases[tenantdb.Database(t.ID)]
		if !ok {
			continue // missing-database is reported by driftActions
		}
		// Every fix runs under the tenant's lock, and only if the tenant is still as
		// read: one deleted or purged meanwhile has no database to repair, and its roles
		// must not be made again.
		do := func(a Action, fix func() error) { do(a, p.lockedFix(ctx, t, fix)) }
		access := map[string]string{}
		var accessRoles []string
		for _, g := range grants {
			if g.TenantID != t.ID || !tenantdb.IsAccessRole(g.Role, t.ID) || (g.ExpiresAt != nil && now.After(*g.ExpiresAt)) {
				continue
			}
			access[g.Role] = g.Level
			if _, exists := snap.Roles[g.Role]; exists {
				accessRoles = append(accessRoles, g.Role)
			}
		}
		exp := tenantdb.ExpectedFor(t.ID, access)

		// Confinement: the group role and the two memberships of every login.
		var unconfined []string
		if _, ok := snap.Roles[tenantdb.GroupRole(t.ID)]; !ok {
			unconfined = append(unconfined, "group role "+tenantdb.GroupRole(t.ID)+" missing")
		}
		// An owner that logs in is a login like the others (one that does not yet is
		// owner-login's business).
		logins := accessRoles
		if o, ok := snap.Roles[tenantdb.OwnerRole(t.ID)]; ok && o.CanLogin {
			logins = append(append([]string(nil), accessRoles...), o.Name)
		}
		for _, l := range append([]string{tenantdb.AppRole(t.ID)}, logins...) {
			r, ok := snap.Roles[l]
			if ok && (!slices.Contains(r.MemberOf, tenantdb.GroupRole(t.ID)) || !slices.Contains(r.MemberOf, tenantdb.LoginsRole)) {
				unconfined = append(unconfined, l+" not in its groups")
			}
		}
		if len(unconfined) > 0 {
			do(Action{Kind: ActConfine, Tenant: t.Slug, Server: server, Detail: strings.Join(unconfined, "; ")},
				func() error { return srv.EnsureConfinement(ctx, t.ID, logins...) })
		}

		// Database-level fixes, from the shared catalogs.
		fixes := tenantdb.DatabaseFixes{Revoke: map[string][]string{}, Reconnectable: !d.AllowConn || d.IsTemplate}
		var reasons []string
		if fixes.Reconnectable {
			reasons = append(reasons, "database closed to connections or marked as a template")
		}
		for _, g := range d.Grants {
			// PUBLIC's are the reharden action's.
			if g.Grantee != exp.Owner && g.Grantee != "PUBLIC" && (g.Privilege == "CREATE" || g.Privilege == "TEMPORARY") {
				fixes.Revoke[g.Grantee] = append(fixes.Revoke[g.Grantee], g.Privilege)
				reasons = append(reasons, g.Grantee+" holds "+g.Privilege+" on the database")
			}
		}
		roles := map[string]bool{exp.Owner: true, exp.App: true, tenantdb.GroupRole(t.ID): true}
		for r := range access {
			roles[r] = true
		}
		for _, st := range scan.Settings {
			switch {
			case st.Database == d.Name && st.Role == "":
				fixes.ResetDatabase = true
				reasons = append(reasons, "settings on the database")
			case roles[st.Role] && (st.Database == "" || st.Database == d.Name):
				if !slices.Contains(fixes.ResetRoles, st.Role) {
					fixes.ResetRoles = append(fixes.ResetRoles, st.Role)
				}
				reasons = append(reasons, "settings on role "+st.Role)
			}
		}
		sort.Strings(fixes.ResetRoles)

		// Access lists inside the database: one connection, unless it cannot be entered
		// yet (then the repair opens it first and reads them after).
		if !fixes.Reconnectable {
			privs, found, err := srv.PrivilegesAndDomain(ctx, t.ID)
			if err != nil {
				do(Action{Kind: ActRepairPrivileges, Tenant: t.Slug, Server: server, Detail: "cannot read the privileges inside the database"},
					func() error { return err })
				continue
			}
			for _, pr := range exp.Unexpected(privs) {
				reasons = append(reasons, pr.String())
			}
			// The customer's domain, as the tenant database carries it (db.domain).
			if problems := tenantdb.DomainProblems(found, t.Domain); len(problems) > 0 {
				fixes.Domain = t.Domain
				reasons = append(reasons, problems...)
			}
		} else {
			fixes.Domain = t.Domain // written again once the database can be entered
		}
		if len(reasons) > 0 {
			do(Action{Kind: ActRepairPrivileges, Tenant: t.Slug, Server: server, Detail: strings.Join(reasons, "; ")},
				func() error { return srv.RepairPrivileges(ctx, t.ID, exp, fixes) })
		}
	}
	return nil
}
