package audit

import (
	"context"
	"hash/fnv"
	"sort"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// SharedProbesPerServer is how many tenants per server also try template1; every probed
// tenant tries postgres. The pg_hba.conf lines are static and name no tenant, but a
// line someone added for one role before them would let only that role through, and
// pg_hba.conf is readable by superusers only: a login per tenant is the evidence.
const SharedProbesPerServer = 2

// planSharedProbes has every tenant planned for probes try the server's postgres
// database too, and up to SharedProbesPerServer of them per server (in an order fixed
// by the seed) template1 as well.
func (a *auditor) planSharedProbes(plan map[string]probePlan) {
	byServer := map[string][]catalog.Tenant{}
	for _, t := range a.audited {
		if _, ok := plan[t.ID]; ok {
			byServer[t.Server] = append(byServer[t.Server], t)
		}
	}
	key := func(id string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(id))
		return h.Sum64() ^ a.o.Seed
	}
	for name, list := range byServer {
		s := a.servers[name]
		if s == nil || !s.reachable() {
			continue
		}
		sort.Slice(list, func(i, j int) bool { return key(list[i].ID) < key(list[j].ID) })
		for i, t := range list {
			p := plan[t.ID]
			for _, db := range sharedDatabases {
				if _, exists := s.snap.Databases[db]; exists && (db == "postgres" || i < SharedProbesPerServer) {
					p.shared = append(p.shared, db)
				}
			}
			plan[t.ID] = p
		}
	}
}

// sharedDatabases are the databases every server has and grants CONNECT on to PUBLIC
// by default: where a bridge to any tenant can be built, and what the pg_hba.conf lines
// close to tenant logins.
var sharedDatabases = []string{"postgres", "template1"}

// runSharedProbes logs in with the tenant's credentials to the server's shared
// databases: each login that works means the server's pg_hba.conf does not confine
// tenant logins (the lines of `tenantctl server hba` are missing or not first).
func (a *auditor) runSharedProbes(ctx context.Context, t catalog.Tenant, s *server, user, pw, kind string, dbs []string) {
	for _, db := range dbs {
		a.col.evaluated(CheckProbeSharedDatabases, t.Slug)
		res := a.attempt(ctx, t, s.sem, func() tenantdb.ProbeResult { return s.handle.Probe(ctx, user, pw, db, a.o.ConnectTimeout) })
		switch {
		case ctx.Err() != nil:
			return
		case res.Outcome == tenantdb.ProbeConnected:
			a.col.violation(CheckProbeSharedDatabases, "", t.Slug, t.Server,
				"the %s %s logged in to database %s on server %s: the server's pg_hba.conf does not confine tenant logins to their own database (install the lines of 'tenantctl server hba %s' first in it)",
				kind, user, db, t.Server, t.Server)
		case res.Outcome == tenantdb.ProbeInconclusive:
			a.col.violation(CheckProbeSharedDatabases, Medium, t.Slug, t.Server, "the probe of database %s on server %s with the %s %s proved nothing: %s", db, t.Server, kind, user, describe(res))
		}
	}
}
