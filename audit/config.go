package audit

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// expectsDatabase reports whether a tenant in state must have its database and roles.
// A moving tenant's database is on the server the catalog names (the move's source)
// until the switch; an importing tenant's is still being restored.
func expectsDatabase(state string) bool {
	return state == catalog.StateActive || state == catalog.StateSuspended || state == catalog.StateDeleting ||
		state == catalog.StateMoving
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
			for name, o := range a.reachableServers() {
				if _, ok := o.snap.Databases[dbName]; ok && name != t.Server {
					elsewhere = append(elsewhere, name)
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
		// A create or a drop killed between its two steps leaves the database the admin's
		// (CREATE and DROP DATABASE cannot share a transaction with the handover); the
		// rerun or reconcile finishes it.
		unfinished := d.Owner == s.cat.AdminRole && (t.State == catalog.StateProvisioning || t.State == catalog.StateFailed || t.State == catalog.StateDeleting)
		if d.Owner != owner && !unfinished {
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
	var issues roleIssues
	issues.add(r.Superuser, Critical, "SUPERUSER")
	issues.add(r.BypassRLS, High, "BYPASSRLS")
	issues.add(r.CreateRole, High, "CREATEROLE")
	issues.add(r.CreateDB, High, "CREATEDB")
	issues.add(r.Replication, High, "REPLICATION")
	// The owner logs in with tenantctl's own sealed password (confined by the
	// pg_hba.conf lines like the app role: role.confinement; probed: probe.*). A LOGIN
	// for which the catalog holds no password was given by someone else.
	issues.add(isOwner && r.CanLogin && !a.ownerCreds[t.ID], High, "LOGIN on the owner role, for which tenantctl holds no password (someone else gave it; reconcile gives the owner its own)")
	issues.add(!isOwner && r.CanLogin && (t.State == catalog.StateSuspended || t.State == catalog.StateDeleting), High,
		"LOGIN although the tenant is "+t.State)
	issues.add(r.ConnLimit < 0, Low, "no connection limit")
	if len(issues.list) > 0 {
		a.col.violation(CheckRoleAttributes, issues.sev, t.Slug, s.cat.Name, "role %s has %s", r.Name, issues.String())
	}
}

// checkRoleMembership walks every role the tenant role is a member of, directly or
// through other roles. A tenant role is expected to be a member of nothing.
func (a *auditor) checkRoleMembership(t catalog.Tenant, s *server, r tenantdb.RoleInfo) {
	via := memberships(s, r)
	for _, g := range sortedRoles(via) {
		if confinementGroup(t, r, g) {
			continue // role.confinement's business
		}
		path := through(via, g)
		id, isTenant := tenantdb.ParseName(g)
		switch {
		case isTenant && id == t.ID:
			a.col.violation(CheckRoleMembership, Medium, t.Slug, s.cat.Name, "role %s is a member of the tenant's own role %s%s: the application would gain the owner's rights", r.Name, g, path)
		case isTenant || tenantdb.LooksLikeTenant(g):
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of %s (%s)%s", r.Name, g, a.tenantOfName(g), path)
		case predefinedCrossRoles[g]:
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of the predefined role %s%s, which reaches across databases or the server", r.Name, g, path)
		case g == s.cat.AdminRole:
			a.col.violation(CheckRoleMembership, Critical, t.Slug, s.cat.Name, "role %s is a member of the admin role %s%s, which may take every tenant's roles", r.Name, g, path)
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

// confinementGroup reports whether g is one of the two groups the tenant's app and
// owner roles belong to for pg_hba.conf's sake: its own group role and
// tenantctl_logins.
func confinementGroup(t catalog.Tenant, r tenantdb.RoleInfo, g string) bool {
	return (r.Name == tenantdb.AppRole(t.ID) || r.Name == tenantdb.OwnerRole(t.ID)) && (g == tenantdb.GroupRole(t.ID) || g == tenantdb.LoginsRole)
}
