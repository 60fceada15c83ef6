package audit

import (
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// checkStorage reports what streams or stores a tenant's data outside tenantctl's
// reach: logical replication slots on tenant databases and tablespaces open to tenant
// roles or PUBLIC (large objects are read with the tenant database's contents).
func (a *auditor) checkStorage() {
	for _, name := range a.names {
		s := a.servers[name]
		sc := a.hostile.scans[name]
		if sc == nil || sc.err != nil {
			continue
		}
		for _, t := range s.tenants {
			if a.inScope(t.Slug) {
				a.col.evaluated(CheckDBReplicationSlot, t.Slug)
			}
		}
		for _, sl := range sc.scan.Slots {
			t, ok := a.tenantDatabaseOn(s, sl.Database)
			if !ok || !a.inScope(t.Slug) {
				continue
			}
			if m, open := a.logicalMoves[t.ID]; open && m.Source == name && sl.Name == tenantdb.MoveReplicationName(m.ID) {
				continue // the open logical move's own
			}
			state := "inactive"
			if sl.Active {
				state = "active"
			}
			a.col.violation(CheckDBReplicationSlot, "", t.Slug, name,
				"logical replication slot %s (%s) on database %s on server %s streams every change of the tenant's rows to whoever consumes it (a subscription, a REPLICATION login)",
				sl.Name, state, sl.Database, name)
		}
		a.checkTablespaces(s)
	}
}

// checkTablespaces reports tablespaces owned by a tenant's role, or in which PUBLIC or a
// tenant's role may create objects.
func (a *auditor) checkTablespaces(s *server) {
	name := s.cat.Name
	if a.inScope("") {
		a.col.evaluated(CheckServerTablespaces, "")
	}
	for _, ts := range s.snap.Tablespaces {
		if t, ok := a.roleTenant(ts.Owner); ok && a.inScope(t.Slug) {
			a.col.violation(CheckServerTablespaces, "", t.Slug, name, "tablespace %s on server %s is owned by role %s of tenant %s", ts.Name, name, ts.Owner, t.Slug)
		}
		for _, g := range ts.Grants {
			if g.Grantee == "PUBLIC" {
				if a.inScope("") {
					a.col.violation(CheckServerTablespaces, "", "", name, "PUBLIC holds %s on tablespace %s on server %s", g.Privilege, ts.Name, name)
				}
				continue
			}
			if t, ok := a.roleTenant(g.Grantee); ok && a.inScope(t.Slug) {
				a.col.violation(CheckServerTablespaces, "", t.Slug, name, "role %s of tenant %s holds %s on tablespace %s on server %s", g.Grantee, t.Slug, g.Privilege, ts.Name, name)
			}
		}
	}
}

// checkLargeObjects reports the large objects of tenant t's database shared with a
// role other than the tenant's own (PUBLIC included).
func (a *auditor) checkLargeObjects(t catalog.Tenant, los []tenantdb.LargeObject) {
	a.col.evaluated(CheckDBLargeObjects, t.Slug)
	db := tenantdb.Database(t.ID)
	own := map[string]bool{tenantdb.OwnerRole(t.ID): true, tenantdb.AppRole(t.ID): true}
	n := 0
	for _, lo := range los {
		var beyond []string
		for _, g := range lo.Grants {
			if grantee, _, _ := strings.Cut(g, " "); !own[grantee] {
				beyond = append(beyond, g)
			}
		}
		if len(beyond) == 0 {
			continue // the customer's own roles share it, as they share its tables
		}
		lo.Grants = beyond
		if n++; n > tenantdb.MaxLargeObjects {
			a.col.violation(CheckDBLargeObjects, High, t.Slug, t.Server, "more large objects in database %s are shared beyond the tenant's roles (the first %d are listed)", db, tenantdb.MaxLargeObjects)
			break
		}
		sev := High
		for _, g := range lo.Grants {
			grantee, _, _ := strings.Cut(g, " ")
			if other, ok := a.roleTenant(grantee); grantee == "PUBLIC" || ok && other.ID != t.ID {
				sev = Critical
			}
		}
		a.col.violation(CheckDBLargeObjects, sev, t.Slug, t.Server, "large object %d (owned by %s) in database %s grants %s (reconcile does not revoke it)",
			lo.OID, lo.Owner, db, strings.Join(lo.Grants, ", "))
	}
}
