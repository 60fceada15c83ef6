package audit

import (
	"sort"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// expiryGrace is how much later than the catalog an access role may expire at the
// server (clock skew, the time between the two writes).
const expiryGrace = time.Minute

// memberships walks every role r is a member of, directly or through other roles, and
// returns them with the role through which each is reached ("" when direct).
func memberships(s *server, r tenantdb.RoleInfo) map[string]string {
	return membershipsVia(s, r, func(string) bool { return true })
}

// membershipsVia is memberships that walks on only through roles follow accepts.
func membershipsVia(s *server, r tenantdb.RoleInfo, follow func(role string) bool) map[string]string {
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
		if !follow(g) {
			continue
		}
		for _, gg := range s.snap.Roles[g].MemberOf {
			if _, seen := via[gg]; !seen && gg != r.Name {
				via[gg] = g
				queue = append(queue, gg)
			}
		}
	}
	return via
}

func sortedRoles(via map[string]string) []string {
	out := make([]string, 0, len(via))
	for g := range via {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

func through(via map[string]string, g string) string {
	if via[g] == "" {
		return ""
	}
	return " (through " + via[g] + ")"
}

// checkAccessRoles holds every MSP access role on the servers (msp_<login>_<id>) to the
// rules tenant roles follow: no dangerous attribute; members of nothing but their
// tenant's group role and tenantctl_logins; expiring at the server no later than in the
// catalog; recorded in the catalog at all. Each finding names the tenant the role
// reaches.
func (a *auditor) checkAccessRoles() {
	grants := map[string]catalog.AccessGrant{}
	for _, list := range a.access {
		for _, g := range list {
			grants[g.Role] = g
		}
	}
	for name, s := range a.reachableServers() {
		for _, role := range namesWithPrefix(s.snap.Roles, tenantdb.AccessPrefix) {
			r := s.snap.Roles[role]
			t, ok := a.roleTenant(role)
			if _, recorded := grants[role]; !recorded || !ok || t.Server != name || !a.inScope(t.Slug) {
				// Not an access role tenantctl made: whatever it reaches is
				// db.connect_roles' business.
				continue
			}
			a.col.evaluated(CheckRoleAccess, t.Slug)
			var issues roleIssues
			issues.add(r.Superuser, Critical, "SUPERUSER")
			issues.add(r.CreateRole, Critical, "CREATEROLE (it can make login roles inside any tenant's roles)")
			issues.add(r.CreateDB, High, "CREATEDB")
			issues.add(r.Replication, Critical, "REPLICATION")
			issues.add(r.BypassRLS, High, "BYPASSRLS")
			issues.add(r.ConnLimit < 0, Low, "no connection limit")
			if len(issues.list) > 0 {
				a.col.violation(CheckRoleAccess, issues.sev, t.Slug, name, "MSP access role %s has %s", role, issues.String())
			}
			via := memberships(s, r)
			for _, g := range sortedRoles(via) {
				if g == tenantdb.GroupRole(t.ID) || g == tenantdb.LoginsRole {
					continue
				}
				gt, isTenantRole := a.roleTenant(g)
				switch {
				case isTenantRole && gt.ID == t.ID:
					a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s is a member of the tenant's role %s%s: it gains that role's rights (an owner's: DDL) beyond its %s grant",
						role, g, through(via, g), a.grantLevel(grants, role))
				case isTenantRole || tenantdb.LooksLikeTenant(g):
					a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s is a member of %s (%s)%s", role, g, a.tenantOfName(g), through(via, g))
				case predefinedCrossRoles[g]:
					a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s is a member of the predefined role %s%s, which reaches across databases or the server", role, g, through(via, g))
				case g == s.cat.AdminRole:
					a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s is a member of the admin role %s%s, which may take every tenant's roles", role, g, through(via, g))
				default:
					a.col.violation(CheckRoleAccess, High, t.Slug, name, "MSP access role %s is a member of role %s%s: access roles must be members of nothing", role, g, through(via, g))
				}
			}
			g := grants[role]
			switch {
			case g.ExpiresAt != nil && r.ValidUntil == nil:
				a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s never expires at the server although the catalog's grant to %s expires at %s",
					role, g.Login, g.ExpiresAt.UTC().Format(time.RFC3339))
			case g.ExpiresAt != nil && r.ValidUntil.After(g.ExpiresAt.Add(expiryGrace)):
				a.col.violation(CheckRoleAccess, Critical, t.Slug, name, "MSP access role %s expires at the server at %s, after the catalog's grant to %s (%s)",
					role, r.ValidUntil.UTC().Format(time.RFC3339), g.Login, g.ExpiresAt.UTC().Format(time.RFC3339))
			}
		}
	}
}

func (a *auditor) grantLevel(grants map[string]catalog.AccessGrant, role string) string {
	if g, ok := grants[role]; ok {
		return g.Level
	}
	return "unrecorded"
}

// checkAdminRoles checks each server's registered admin role: it may take every
// tenant's roles (CREATEROLE), so anything more it holds reaches every tenant on the
// server, and each such finding is reported for every one of them. It holds no standing
// membership in any tenant's role (it takes one for a transaction when it needs it; see
// docs/performance.md, "Role design"): one it holds is reported for that tenant
// (reconcile revokes it).
func (a *auditor) checkAdminRoles() {
	for name, s := range a.reachableServers() {
		r, ok := s.snap.Roles[s.cat.AdminRole]
		if !ok {
			continue
		}
		var issues []string
		// Not through tenant or access roles: what those are members of is reported
		// for their tenant by role.membership and role.access.
		via := membershipsVia(s, r, func(g string) bool {
			return !tenantdb.LooksLikeTenant(g) && !strings.HasPrefix(g, tenantdb.AccessPrefix)
		})
		for _, g := range sortedRoles(via) {
			if predefinedCrossRoles[g] && (via[g] == "" || (!tenantdb.LooksLikeTenant(via[g]) && !strings.HasPrefix(via[g], tenantdb.AccessPrefix))) {
				issues = append(issues, "is a member of the predefined role "+g+through(via, g))
			}
		}
		if r.Replication && !r.Superuser {
			issues = append(issues, "has REPLICATION (it can stream every database of the server)")
		}
		for _, t := range s.tenants {
			if !a.inScope(t.Slug) {
				continue
			}
			a.col.evaluated(CheckRoleAdmin, t.Slug)
			for _, what := range issues {
				a.col.violation(CheckRoleAdmin, "", t.Slug, name, "the admin role %s of server %s %s: that reaches this tenant's data outside tenantctl's control", r.Name, name, what)
			}
			if roles := tenantdb.AdminMemberships(s.snap, r.Name, t.ID); len(roles) > 0 && !r.Superuser {
				a.col.violation(CheckRoleAdmin, Medium, t.Slug, name, "the admin role %s of server %s holds a standing membership in this tenant's role(s) %s: it holds the tenant's rights outside any transaction, and on PostgreSQL 15 every admin session on the server pays for all such memberships (reconcile revokes them)",
					r.Name, name, strings.Join(roles, ", "))
			}
		}
		if r.Superuser && a.inScope("") {
			a.notef("the admin role %s of server %s is a superuser: least privilege is not in force there (a role with CREATEDB and CREATEROLE is enough)", r.Name, name)
		}
	}
}

// checkConfinement checks that the tenant's app role (its owner role when it logs in,
// and its MSP access roles) are members of the tenant's group role and of
// tenantctl_logins — what the pg_hba.conf lines confine logins with — and that the
// group role is a bare NOLOGIN role that holds nothing (its CONNECT or memberships would
// be reported by db.connect_roles).
func (a *auditor) checkConfinement(t catalog.Tenant, s *server) {
	if t.State != catalog.StateActive && t.State != catalog.StateSuspended {
		return
	}
	a.col.evaluated(CheckRoleConfinement, t.Slug)
	group := tenantdb.GroupRole(t.ID)
	g, ok := s.snap.Roles[group]
	if !ok {
		a.col.violation(CheckRoleConfinement, "", t.Slug, t.Server, "the tenant's group role %s is missing, so pg_hba.conf cannot confine its logins to its database (reconcile creates it)", group)
		return
	}
	if g.CanLogin || g.Superuser || g.CreateDB || g.CreateRole || g.Replication || g.BypassRLS || len(g.MemberOf) > 0 {
		a.col.violation(CheckRoleConfinement, Critical, t.Slug, t.Server, "the tenant's group role %s must be a bare NOLOGIN role that is a member of nothing", group)
	}
	logins := []string{tenantdb.AppRole(t.ID)}
	if o, ok := s.snap.Roles[tenantdb.OwnerRole(t.ID)]; ok && o.CanLogin {
		logins = append(logins, o.Name) // an owner that logs in is confined like the app
	}
	for _, gr := range a.access[t.ID] {
		if _, exists := s.snap.Roles[gr.Role]; exists && tenantdb.IsAccessRole(gr.Role, t.ID) {
			logins = append(logins, gr.Role)
		}
	}
	for _, l := range logins {
		r, ok := s.snap.Roles[l]
		if !ok {
			continue
		}
		var missing []string
		for _, want := range []string{group, tenantdb.LoginsRole} {
			found := false
			for _, m := range r.MemberOf {
				found = found || m == want
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			a.col.violation(CheckRoleConfinement, "", t.Slug, t.Server, "login %s is not a member of %s, so the pg_hba.conf lines do not confine it (reconcile adds it)", l, strings.Join(missing, " and "))
		}
	}
}
