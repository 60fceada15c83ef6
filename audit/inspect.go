package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

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
		return // db.inspectable reports it
	}
	a.col.evaluated(CheckDBExtensions, t.Slug)
	a.col.evaluated(CheckDBObjectOwner, t.Slug)
	c, err := s.handle.InspectDatabase(ctx, t.ID, a.expectedFor(t))
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		a.col.unproven(err, CheckDBExtensions, High, t.Slug, t.Server, "database %s could not be inspected, so its contents are unproven: %v", dbName, err)
		return
	}
	a.checkPrivileges(t, c)
	if t.State == catalog.StateActive || t.State == catalog.StateSuspended {
		a.col.evaluated(CheckDBDomain, t.Slug)
		for _, p := range tenantdb.DomainProblems(c.DomainFunctions, t.Domain) {
			a.col.violation(CheckDBDomain, "", t.Slug, t.Server, "database %s: %s (reconcile writes it)", dbName, p)
		}
	}
	for _, ext := range c.Extensions {
		if crossDatabaseExtensions[ext] {
			a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "extension %s is installed in database %s", ext, dbName)
		}
	}
	for _, w := range c.ForeignDataWrappers {
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "foreign data wrapper %s exists in database %s", w, dbName)
	}
	targets := a.foreignServerTargets(c.Bridges)
	for _, fs := range c.ForeignServers {
		reaches := ""
		if slug, ok := targets[fs]; ok {
			reaches = " and points at the database of tenant " + slug
		}
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "foreign server %s exists in database %s%s", fs, dbName, reaches)
	}
	a.checkTenantBridges(t, c.Bridges)
	a.checkLargeObjects(t, c.LargeObjects)
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
