package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// expectedFor is what tenantctl grants inside tenant t's database: the app role's DML
// and the MSP access grants the catalog records (an expired one is db.connect_roles'
// finding, and reconcile revokes it whole).
func (a *auditor) expectedFor(t catalog.Tenant) tenantdb.Expected {
	access := map[string]string{}
	for _, g := range a.access[t.ID] {
		if !tenantdb.IsAccessRole(g.Role, t.ID) {
			continue
		}
		access[g.Role] = g.Level
	}
	return tenantdb.ExpectedFor(t.ID, access)
}

// checkDatabaseLevel checks what the server snapshot says of the tenant database
// beyond its owner and CONNECT: that it can be entered and is no template, and that
// nobody but its owner may create schemas or temporary tables in it.
func (a *auditor) checkDatabaseLevel(t catalog.Tenant, s *server) {
	d, ok := s.snap.Databases[tenantdb.Database(t.ID)]
	if !ok {
		return
	}
	a.col.evaluated(CheckDBInspectable, t.Slug)
	var issues []string
	if !d.AllowConn {
		issues = append(issues, "accepts no connections (ALLOW_CONNECTIONS false), so what it holds cannot be audited")
	}
	if d.IsTemplate {
		issues = append(issues, "is marked IS_TEMPLATE, so any role with CREATEDB can copy it")
	}
	if len(issues) > 0 {
		a.col.violation(CheckDBInspectable, "", t.Slug, t.Server, "database %s %s (reconcile repairs it)", d.Name, strings.Join(issues, " and "))
	}
	a.col.evaluated(CheckDBPrivileges, t.Slug)
	owner := tenantdb.OwnerRole(t.ID)
	extra := map[string][]string{}
	for _, g := range d.Grants {
		if g.Grantee == "PUBLIC" || g.Grantee == owner || g.Privilege == "CONNECT" {
			continue // db.public_acl and db.connect_roles
		}
		extra[g.Grantee] = append(extra[g.Grantee], g.Privilege)
	}
	roles := make([]string, 0, len(extra))
	for r := range extra {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		sev := High
		if _, ok := a.roleTenant(r); ok && r != tenantdb.AppRole(t.ID) {
			sev = Critical
		}
		a.col.violation(CheckDBPrivileges, sev, t.Slug, t.Server, "role %s holds %s on database %s: only its owner may create schemas or temporary tables there (reconcile revokes it)",
			r, strings.Join(extra[r], ", "), d.Name)
	}
	a.countSettings(t)
}

// checkPrivileges compares the access lists read inside the tenant database with what
// tenantctl grants, and reports the objects tenantctl never creates.
func (a *auditor) checkPrivileges(t catalog.Tenant, c tenantdb.Contents) {
	db := tenantdb.Database(t.ID)
	a.col.evaluated(CheckDBPrivileges, t.Slug)
	for _, p := range a.expectedFor(t).Unexpected(c.Privileges) {
		sev := High
		switch {
		case p.Grantee == "PUBLIC" && (p.Kind == "function" || p.Kind == "procedure") && !p.SecurityDefiner:
			sev = Medium // runs with the caller's rights: gives nothing the caller does not have
		case p.Grantee == "PUBLIC":
			sev = Critical
		case p.Grantee == tenantdb.AppRole(t.ID):
			sev = High
		default:
			if rt, ok := a.roleTenant(p.Grantee); ok && rt.ID != t.ID {
				sev = Critical
			}
		}
		who := ""
		if rt, ok := a.roleTenant(p.Grantee); ok && rt.ID != t.ID {
			who = fmt.Sprintf(" (a role of tenant %s)", rt.Slug)
		}
		a.col.violation(CheckDBPrivileges, sev, t.Slug, t.Server, "in database %s, %s%s, which tenantctl does not grant (reconcile revokes it)", db, p, who)
	}
	a.checkSystem(t, c)
	a.col.evaluated(CheckDBObjects, t.Slug)
	for _, o := range c.Objects {
		if a.movePublication(t, o) {
			continue
		}
		if runsAs, ok := securityDefinerOwner(o); ok {
			if runsAs == tenantdb.OwnerRole(t.ID) {
				// Runs with no more than the customer's own rights: a note.
				a.col.definerNote(t.Slug, o)
				continue
			}
			a.col.violation(CheckDBObjects, Critical, t.Slug, t.Server, "%s exists in database %s: it runs with the rights of a role that is not the tenant's owner", o, db)
			continue
		}
		a.col.violation(CheckDBObjects, "", t.Slug, t.Server, "%s exists in database %s", o, db)
	}
}

// checkTenantHostile runs the per-tenant checks against a careless or hostile admin
// that read the server snapshot.
func (a *auditor) checkTenantHostile(t catalog.Tenant) {
	s, ok := a.servers[t.Server]
	if !ok || !s.reachable() {
		return
	}
	a.checkDatabaseLevel(t, s)
	a.checkConfinement(t, s)
}

// checkFleetHostile runs the server-wide checks against a careless or hostile admin.
func (a *auditor) checkFleetHostile() {
	a.checkServerScans()
	a.checkSubscriptionTargets()
	a.checkStorage()
	a.checkAccessRoles()
	a.checkAdminRoles()
}

// securityDefinerOwner returns the role a SECURITY DEFINER function of the inspected
// objects runs as ("SECURITY DEFINER function f() (runs as role)").
func securityDefinerOwner(o string) (string, bool) {
	if !strings.HasPrefix(o, "SECURITY DEFINER function ") || !strings.HasSuffix(o, ")") {
		return "", false
	}
	i := strings.LastIndex(o, " (runs as ")
	if i < 0 {
		return "", false
	}
	return o[i+len(" (runs as ") : len(o)-1], true
}
