package audit

import (
	"fmt"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// A bridge (a foreign server, its user mappings, a dblink-style view, a subscription)
// exposes the tenant whose database it reaches, wherever it lives: the findings here
// name both ends, the tenant (or database) it lives in and the tenant it reaches,
// resolved from its connection options against the catalog.

// bridgeTarget returns the live tenant whose database a connection's dbname names.
// Tenant database names are unique across the fleet, so the dbname alone says which
// tenant a bridge reaches, on whichever server its host and port name.
func (a *auditor) bridgeTarget(dbname string) (catalog.Tenant, bool) {
	id, ok := tenantdb.ParseName(dbname)
	if !ok || dbname != tenantdb.Database(id) {
		return catalog.Tenant{}, false
	}
	t, ok := a.byID[id]
	return t, ok && t.Live()
}

// serverAt names the catalog server a foreign server's host and port point at ("" when
// none or unknown).
func (a *auditor) serverAt(fs tenantdb.ForeignServer) string {
	host, port := fs.Option("host"), fs.Option("port")
	if host == "" && port == "" {
		return ""
	}
	for _, name := range a.names {
		cs := a.servers[name].cat
		if h, p := cs.Host, cs.Port; (host == "" || host == h) && (port == "" || port == fmt.Sprint(p)) {
			return name
		}
	}
	return ""
}

// checkTenantBridges names the other tenants that the bridges inside tenant t's
// database reach (t itself is reported by db.extensions), and reports dblink-style
// views there.
func (a *auditor) checkTenantBridges(t catalog.Tenant, b tenantdb.Bridges) {
	db := tenantdb.Database(t.ID)
	a.col.evaluated(CheckDBBridgeTarget, t.Slug)
	mappings := map[string][]string{}
	for _, um := range b.UserMappings {
		srv, user, _ := strings.Cut(um, ":")
		mappings[srv] = append(mappings[srv], user)
	}
	for _, fs := range b.ForeignServers {
		target, ok := a.bridgeTarget(fs.Option("dbname"))
		if !ok || target.ID == t.ID || !a.inScope(target.Slug) {
			continue
		}
		with := "no user mapping yet"
		if m := mappings[fs.Name]; len(m) > 0 {
			with = "user mappings for " + strings.Join(m, ", ")
		}
		a.col.violation(CheckDBBridgeTarget, "", target.Slug, target.Server,
			"foreign server %s in database %s of tenant %s on server %s points at this tenant's database %s (%s; %s)",
			fs.Name, db, t.Slug, t.Server, fs.Option("dbname"), strings.Join(fs.Options, ", "), with)
	}
	for _, v := range b.Views {
		target, ok := a.bridgeTarget(v.DBName)
		where := "another database"
		if v.DBName != "" {
			where = "database " + v.DBName
		}
		if ok {
			where = "the database of tenant " + target.Slug
		}
		a.col.violation(CheckDBExtensions, "", t.Slug, t.Server, "view %s in database %s connects to %s through dblink", v.Name, db, where)
		if ok && target.ID != t.ID && a.inScope(target.Slug) {
			a.col.violation(CheckDBBridgeTarget, "", target.Slug, target.Server,
				"view %s in database %s of tenant %s on server %s connects to this tenant's database %s through dblink", v.Name, db, t.Slug, t.Server, v.DBName)
		}
	}
}

// foreignServerTargets maps the foreign servers of b to the tenant each reaches.
func (a *auditor) foreignServerTargets(b tenantdb.Bridges) map[string]string {
	out := map[string]string{}
	for _, fs := range b.ForeignServers {
		if target, ok := a.bridgeTarget(fs.Option("dbname")); ok {
			out[fs.Name] = target.Slug
			if at := a.serverAt(fs); at != "" {
				out[fs.Name] += " on server " + at
			}
		}
	}
	return out
}

// slotDatabases maps every replication slot of every scanned server to the database it
// streams: "server\x1fslot" -> database.
func (a *auditor) slotDatabases() map[string]string {
	out := map[string]string{}
	for name, sc := range a.hostile.scans {
		if sc.err != nil {
			continue
		}
		for _, sl := range sc.scan.Slots {
			if sl.Database != "" {
				out[name+"\x1f"+sl.Name] = sl.Database
			}
		}
	}
	return out
}

// checkSubscriptionTargets names the tenant whose database a subscription streams
// from: the database of the publisher's slot it uses, wherever that slot is in the
// fleet. The subscription itself is reported where it lives (db.objects,
// server.bridges).
func (a *auditor) checkSubscriptionTargets() {
	slots := a.slotDatabases()
	for _, name := range a.names {
		sc := a.hostile.scans[name]
		if sc == nil || sc.err != nil {
			continue
		}
		for _, sub := range sc.scan.Subscriptions {
			if sub.Slot == "" || a.moveSubscription(name, sub) {
				continue
			}
			for _, other := range a.names {
				db, ok := slots[other+"\x1f"+sub.Slot]
				if !ok {
					continue
				}
				target, ok := a.bridgeTarget(db)
				if !ok || target.Server != other || !a.inScope(target.Slug) {
					continue
				}
				if from, ok := a.tenantDatabaseOn(a.servers[name], sub.Database); ok && from.ID == target.ID {
					continue
				}
				a.col.violation(CheckDBBridgeTarget, "", target.Slug, other,
					"subscription %s in database %s on server %s streams this tenant's database %s through slot %s on server %s",
					sub.Name, sub.Database, name, db, sub.Slot, other)
			}
		}
	}
}
