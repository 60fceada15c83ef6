package audit

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// probeTarget is another tenant's database a tenant's credentials must not open.
type probeTarget struct {
	server *server
	victim *catalog.Tenant // points into server.tenants: a target is two words
}

// probePlan is what one tenant's credentials are tried against.
type probePlan struct {
	targets []probeTarget
	// shared are the server's shared databases (postgres, template1) to try too.
	shared []string
}

// planProbes chooses, for every active audited tenant, the databases to try: its own,
// every other tenant database on its server up to ProbeNeighbours (a random sample
// beyond that), and a random sample of ProbeSample tenant databases on other servers.
// Suspended, deleting, provisioning and failed tenants cannot log in by design and are
// not probed.
func (a *auditor) planProbes() map[string]probePlan {
	a.probes = ProbeSummary{Enabled: !a.o.NoProbes, Neighbours: a.o.ProbeNeighbours, Sample: max(a.o.ProbeSample, 0)}
	if a.o.NoProbes {
		a.notef("live probes were not run (--no-probes)")
		return nil
	}
	seed := a.o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	// Databases that exist, by server.
	byServer := map[string][]probeTarget{}
	var all []probeTarget
	for name, s := range a.reachableServers() {
		for i := range s.tenants {
			if _, ok := s.snap.Databases[tenantdb.Database(s.tenants[i].ID)]; ok {
				pt := probeTarget{server: s, victim: &s.tenants[i]}
				byServer[name] = append(byServer[name], pt)
				all = append(all, pt)
			}
		}
	}
	plan := map[string]probePlan{}
	notActive := 0
	for _, t := range a.audited {
		s, ok := a.servers[t.Server]
		if t.State != catalog.StateActive || !ok || !s.reachable() {
			a.probes.Skipped++
			if t.State != catalog.StateActive {
				notActive++
			}
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(t.ID))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		var near, far []probeTarget
		for _, pt := range byServer[t.Server] {
			if pt.victim.ID != t.ID {
				near = append(near, pt)
			}
		}
		for _, pt := range all {
			if pt.server.cat.Name != t.Server {
				far = append(far, pt)
			}
		}
		if a.o.ProbeNeighbours >= 0 && len(near) > a.o.ProbeNeighbours {
			near = sample(rng, near, a.o.ProbeNeighbours)
			a.probes.Sampled = true
		}
		far = sample(rng, far, max(a.o.ProbeSample, 0))
		targets := append(near, far...)
		sort.Slice(targets, func(i, j int) bool {
			return targets[i].server.cat.Name+"/"+targets[i].victim.ID < targets[j].server.cat.Name+"/"+targets[j].victim.ID
		})
		plan[t.ID] = probePlan{targets: targets}
		a.probes.Tenants++
	}
	a.planSharedProbes(plan)
	if notActive > 0 {
		a.notef("%d tenants that are not active (suspended, deleting, provisioning or failed) cannot log in by design: their credentials were not probed", notActive)
	}
	if a.probes.Sampled {
		a.notef("tenants with more than %d neighbours on their server were probed against a random sample of %d of them", a.o.ProbeNeighbours, a.o.ProbeNeighbours)
	}
	if a.probes.Tenants > 0 && a.o.ProbeSample > 0 && len(a.names) > 1 {
		a.notef("each tenant was also probed against up to %d random tenant databases on other servers", a.o.ProbeSample)
	}
	return plan
}

// sample returns n random elements of list (all of them when it is short enough), in
// a slice of their own: a plan kept per tenant must not keep the whole candidate list
// alive (at 1,000 tenants on a server that made memory grow with the square of the
// fleet).
func sample(rng *rand.Rand, list []probeTarget, n int) []probeTarget {
	if len(list) <= n {
		return list
	}
	out := append([]probeTarget(nil), list...)
	for i := 0; i < n; i++ {
		j := i + rng.IntN(len(out)-i)
		out[i], out[j] = out[j], out[i]
	}
	return append([]probeTarget(nil), out[:n]...)
}

// runProbes logs in with each of the tenant's own credentials — its app role's and,
// when the catalog holds one, its owner role's (tenantctl's own login, confined the
// same way) — to its own database, which must work, then to every planned target and
// the warehouse, which must all refuse. Attempts run one after another, so the probes
// never hold more than one connection slot of either role.
func (a *auditor) runProbes(ctx context.Context, t catalog.Tenant, p probePlan) {
	a.probeAs(ctx, t, p, tenantdb.AppRole(t.ID), "app", "app role")
	if a.ownerCreds[t.ID] && ctx.Err() == nil {
		a.probeAs(ctx, t, p, tenantdb.OwnerRole(t.ID), catalog.OwnerCredential, "owner role")
	}
}

// probeAs runs runProbes' attempts as one of the tenant's logins: user, whose password
// the catalog stores under credRole; kind names it in findings ("app role").
func (a *auditor) probeAs(ctx context.Context, t catalog.Tenant, p probePlan, user, credRole, kind string) {
	s := a.servers[t.Server]
	own := tenantdb.Database(t.ID)
	a.col.evaluated(CheckProbeOwn, t.Slug)
	pw, err := a.o.Store.Credential(ctx, t.ID, credRole)
	if err != nil {
		if ctx.Err() == nil {
			a.col.violation(CheckProbeOwn, "", t.Slug, t.Server, "no usable credential for the %s %s in the catalog (%v): the tenant was not probed", kind, user, err)
		}
		return
	}
	if _, ok := s.snap.Databases[own]; ok {
		res := a.attempt(ctx, t, s.sem, func() tenantdb.ProbeResult { return s.handle.Probe(ctx, user, pw, own, a.o.ConnectTimeout) })
		switch {
		case ctx.Err() != nil:
			return
		case res.Outcome == tenantdb.ProbeRefused:
			a.col.violation(CheckProbeOwn, "", t.Slug, t.Server, "the %s %s could not log in to its own database %s: %s", kind, user, own, describe(res))
		case res.Outcome == tenantdb.ProbeInconclusive:
			a.col.violation(CheckProbeOwn, Medium, t.Slug, t.Server, "the %s %s could not be tried on its own database %s: %s", kind, user, own, describe(res))
		}
	} else {
		a.col.violation(CheckProbeOwn, "", t.Slug, t.Server, "the %s %s has no database to log in to: %s does not exist on %s", kind, user, own, t.Server)
	}
	a.runSharedProbes(ctx, t, s, user, pw, kind, p.shared)
	for _, tg := range p.targets {
		db := tenantdb.Database(tg.victim.ID)
		a.col.evaluated(CheckProbeCross, t.Slug)
		res := a.attempt(ctx, t, tg.server.sem, func() tenantdb.ProbeResult {
			return tg.server.handle.Probe(ctx, user, pw, db, a.o.ConnectTimeout)
		})
		switch {
		case ctx.Err() != nil:
			return
		case res.Outcome == tenantdb.ProbeConnected:
			a.col.violation(CheckProbeCross, Critical, tg.victim.Slug, tg.server.cat.Name,
				"the %s of tenant %s (%s) logged in to database %s of tenant %s on server %s", kind, t.Slug, user, db, tg.victim.Slug, tg.server.cat.Name)
		case res.Outcome == tenantdb.ProbeInconclusive:
			a.col.violation(CheckProbeCross, Medium, t.Slug, tg.server.cat.Name,
				"the probe of database %s (tenant %s) on server %s with this tenant's %s credentials proved nothing: %s", db, tg.victim.Slug, tg.server.cat.Name, kind, describe(res))
		}
	}
	if w := a.warehouse; w != nil {
		a.col.evaluated(CheckProbeWarehouse, t.Slug)
		res := a.attempt(ctx, t, w.sem, func() tenantdb.ProbeResult { return tenantdb.Probe(ctx, w.cfg, user, pw, w.db, a.o.ConnectTimeout) })
		switch {
		case ctx.Err() != nil:
			return
		case res.Outcome == tenantdb.ProbeConnected:
			a.col.violation(CheckProbeWarehouse, Critical, t.Slug, warehouseServer, "the %s %s logged in to the warehouse database %s", kind, user, w.db)
		case res.Outcome == tenantdb.ProbeInconclusive:
			a.col.violation(CheckProbeWarehouse, Medium, t.Slug, warehouseServer, "the probe of the warehouse with the %s %s proved nothing: %s", kind, user, describe(res))
		}
	}
}

// attempt runs one login attempt of tenant t holding a connection slot of the target
// and counts it against t (see login).
func (a *auditor) attempt(ctx context.Context, t catalog.Tenant, sem chan struct{}, try func() tenantdb.ProbeResult) tenantdb.ProbeResult {
	return a.login(ctx, t.Slug, sem, try)
}

// login runs one login attempt holding a connection slot of the target behind sem and
// counts it (against tenant slug too, unless slug is ""). A target that let an attempt
// time out is not tried again in this run: every later attempt on it is inconclusive at
// once (and reported as such), so a frozen server costs the audit one connect timeout
// per probing tenant at most, not one per attempt.
func (a *auditor) login(ctx context.Context, slug string, sem chan struct{}, try func() tenantdb.ProbeResult) tenantdb.ProbeResult {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return tenantdb.ProbeResult{Outcome: tenantdb.ProbeInconclusive, Message: ctx.Err().Error()}
	}
	var res tenantdb.ProbeResult
	if a.silent(sem) {
		res = tenantdb.ProbeResult{Outcome: tenantdb.ProbeInconclusive, TimedOut: true,
			Message: "not tried: the server let an earlier probe of this audit time out"}
	} else {
		res = try()
	}
	<-sem
	a.col.mu.Lock()
	if res.TimedOut {
		if a.silentTargets == nil {
			a.silentTargets = map[chan struct{}]bool{}
		}
		a.silentTargets[sem] = true
	}
	if slug != "" {
		a.col.probes[slug]++
	}
	a.probes.Attempts++
	switch res.Outcome {
	case tenantdb.ProbeConnected:
		a.probes.Connected++
	case tenantdb.ProbeRefused:
		a.probes.Refused++
	default:
		a.probes.Inconclusive++
	}
	a.col.mu.Unlock()
	return res
}

// silent reports whether the target behind sem let a probe of this run time out.
func (a *auditor) silent(sem chan struct{}) bool {
	a.col.mu.Lock()
	defer a.col.mu.Unlock()
	return a.silentTargets[sem]
}

func describe(res tenantdb.ProbeResult) string {
	if res.SQLState != "" {
		return fmt.Sprintf("%s (SQLSTATE %s)", res.Message, res.SQLState)
	}
	return res.Message
}
