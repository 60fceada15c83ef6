package audit

import (
	"sort"

	"github.com/tenantctl/tenantctl/tenantdb"
)

// checkDrift finds databases and roles named like tenants that the catalog does not
// place on the server where they are.
func (a *auditor) checkDrift() {
	for name, s := range a.reachableServers() {
		inv := s.snap.Inventory()
		known := func(id string) bool {
			t, ok := a.byID[id]
			return ok && t.Live() && (t.Server == name || a.moveCopies[name][id]) || a.isSpare(name, id)
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
			if a.keptCopy(name, db) {
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
			isRole := ok && (role == tenantdb.OwnerRole(id) || role == tenantdb.AppRole(id) || role == tenantdb.GroupRole(id))
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
