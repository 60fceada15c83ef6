package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/internal/pgtest"

	// Every package that registers kill points, so fault.Points lists what the binary
	// holds. A package that adds points must be added here; TestEveryKillPoint fails
	// on a registered point no case reaches.
	_ "github.com/tenantctl/tenantctl/catalog"
	_ "github.com/tenantctl/tenantctl/mover"
	_ "github.com/tenantctl/tenantctl/provisioner"
	_ "github.com/tenantctl/tenantctl/rollout"
	_ "github.com/tenantctl/tenantctl/rollup"
	_ "github.com/tenantctl/tenantctl/tenantdb"
)

var t0 = context.Background()

// killCase is one command killed at each of its points; after each kill, rerun (when
// set) and reconcile must converge.
type killCase struct {
	name string
	// points the command must reach ("name" or "name:N" for the Nth hit).
	points []string
	// setup prepares the fleet and returns the command to kill.
	setup func(f *fleet, slug string) []string
	// rerun runs after the kill (nil: reconcile alone must finish the work). Cases
	// with a rerun alternate: even points rerun, odd points leave it to reconcile.
	rerun func(f *fleet, slug string, args []string)
	// always reruns after every kill (reconcile alone cannot finish the work).
	always bool
	// shared: every point of the case works on one tenant, slug, which the first setup
	// makes; purged after the case. Otherwise each point gets a new tenant.
	shared bool
	// check runs after the convergence check of each kill, for what only this case can
	// tell (nil: nothing more).
	check func(f *fleet, slug string)
	// teardown runs after the case's last kill (nil: nothing).
	teardown func(f *fleet)
	// group: cases of one group run on one fleet, in order (default: the case alone).
	// Groups are spread over the plain fleets by their number of kills.
	group string
	// fleet is the kind of fleet the case needs: "" for a plain one, "logical" for the
	// one whose servers allow logical replication, "backup" for the one whose server
	// archives its WAL with pgBackRest.
	fleet string
	// whole keeps every point of the case in `make test`'s sample: a later case of its
	// group needs the state all its kills leave.
	whole bool
	// index, for a sampled case, is each point's position in the full list.
	index []int
}

// pointsPerCase is how many points of each case `make test` kills:
// FAULTTEST_POINTS_PER_CASE, or 1.
func pointsPerCase(t *testing.T) int {
	if s := os.Getenv("FAULTTEST_POINTS_PER_CASE"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "FAULTTEST_POINTS_PER_CASE")
		require.Positive(t, n, "FAULTTEST_POINTS_PER_CASE")
		return n
	}
	return 1
}

// samplePoints keeps n random points of every case, in their listed order.
func samplePoints(cases []killCase, rng *rand.Rand, n int) []killCase {
	out := make([]killCase, len(cases))
	for ci, c := range cases {
		keep := rng.Perm(len(c.points))
		if len(keep) > n && !c.whole {
			keep = keep[:n]
		}
		sort.Ints(keep)
		c.index = keep
		points := make([]string, len(keep))
		for k, i := range keep {
			points[k] = c.points[i]
		}
		c.points = points
		out[ci] = c
	}
	return out
}

var createPoints = []string{
	"provision.slug-locked", "provision.after-insert", "provision.credentials.after-store",
	"provision.credentials.before-record", "provision.credentials.after-record",
	"provision.roles.before-record", "provision.roles.after-record",
	"tenantdb.database.after-create", "tenantdb.database.after-revoke-public", "tenantdb.database.after-adopt",
	"provision.database.before-record", "provision.database.after-record",
	"provision.hardened.before-record", "provision.hardened.after-record",
	"provision.warehouse.before-record", "provision.warehouse.after-record",
}

func createArgs(slug string, extra ...string) []string {
	return append([]string{"tenant", "create", slug, "--name", "Tenant " + slug, "--domain", slug + ".example"}, extra...)
}

func rerunSame(f *fleet, _ string, args []string) { f.must(args...) }

// rerunCreate reruns a killed create: it finishes the tenant, or, when the kill came
// after the tenant was already active, says the slug is taken (exit 2, nothing changed).
func rerunCreate(f *fleet, slug string, args []string) {
	f.t.Helper()
	r := f.run(args...)
	if r.code == 2 && strings.Contains(r.stderr, "already taken") && f.tenant(slug).State == "active" {
		return
	}
	require.Equal(f.t, 0, r.code, "tenantctl %v\n%s", args, r)
}

func killCases() []killCase {
	return slices.Concat(baseCases(), moreCases(), restoreCases(), restoreExportCases(), logicalBackupCases())
}

func baseCases() []killCase {
	return []killCase{
		{
			name: "create", points: createPoints,
			setup: func(f *fleet, slug string) []string { return createArgs(slug) },
			rerun: rerunCreate,
		},
		{
			name: "create --no-template",
			points: []string{"tenantdb.database.after-create", "tenantdb.database.after-revoke-public", "tenantdb.database.after-adopt",
				"provision.database.before-record"},
			setup: func(f *fleet, slug string) []string { return createArgs(slug, "--no-template") },
			rerun: rerunCreate,
		},
		{
			// A new migration set: create builds the server's template first.
			name: "create with a template build",
			points: []string{"tenantdb.template.after-lock", "tenantdb.template.after-create", "tenantdb.template.after-migrate",
				"tenantdb.template.after-finish-statement:1", "tenantdb.template.after-finish-statement:2",
				"tenantdb.template.after-finish-statement:3", "tenantdb.template.after-finish-statement:4"},
			setup: func(f *fleet, slug string) []string {
				f.addMigration()
				return createArgs(slug, "--server", "pg-a")
			},
			rerun: func(f *fleet, slug string, args []string) {
				rerunCreate(f, slug, args)
				f.must("migrate", "up") // bring the older tenants to the new set too
			},
		},
		{
			name: "migrate up",
			points: []string{"rollout.tenant.after-migrate", "rollout.tenant.after-migrate:2", "rollout.tenant.after-record",
				"rollout.template.after-ensure", "rollout.template.after-record", "rollout.template.after-drop",
				"tenantdb.template.after-lock", "tenantdb.template.after-create", "tenantdb.template.after-migrate",
				"tenantdb.template.after-finish-statement:4", "tenantdb.template.after-unmark"},
			setup: func(f *fleet, slug string) []string {
				f.addMigration()
				return []string{"migrate", "up"}
			},
			rerun: rerunSame,
		},
		{
			name:   "rotate-credentials",
			points: []string{"rotate.after-pending", "rotate.after-server", "rotate.after-promote"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				return []string{"tenant", "rotate-credentials", slug}
			},
			rerun: rerunSame,
		},
		{
			name:   "suspend",
			points: []string{"tenantdb.login.after-alter", "suspend.after-server", "suspend.after-catalog"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				return []string{"tenant", "suspend", slug}
			},
			rerun: rerunSame,
		},
		{
			name:   "resume",
			points: []string{"tenantdb.login.after-alter", "resume.after-server", "resume.after-catalog"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.must("tenant", "suspend", slug)
				return []string{"tenant", "resume", slug}
			},
			rerun: rerunSame,
		},
		{
			name:   "cancel delete",
			points: []string{"cancel-delete.after-server", "cancel-delete.after-catalog"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.must("tenant", "delete", slug, "--confirm", slug)
				return []string{"tenant", "cancel-delete", slug}
			},
			// Reconcile leaves a deleted tenant deleted: the rerun takes it back.
			rerun: rerunSame, always: true,
			// Taken back, resumed, its application connects and writes again.
			check: func(f *fleet, slug string) {
				require.Equal(f.t, "suspended", f.tenant(slug).State)
				f.must("tenant", "resume", slug)
				f.fill(slug, 1)
			},
		},
		{
			name:   "access grant",
			points: []string{"access.grant.after-record", "tenantdb.access.after-role", "access.grant.after-server"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				return []string{"access", "grant", "alice", "--tenant", slug, "--level", "write", "--reason", "INC-1"}
			},
			rerun: rerunSame,
		},
		{
			name:   "access revoke",
			points: []string{"access.revoke.after-record", "tenantdb.access.after-drop-owned"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.must("access", "grant", "bob", "--tenant", slug, "--reason", "INC-2")
				return []string{"access", "revoke", "bob", "--tenant", slug}
			},
			rerun: rerunSame,
		},
		{
			name: "delete",
			points: []string{"access.revoke.after-record", "tenantdb.access.after-drop-owned", "delete.after-grants",
				"tenantdb.revoke-access.after-statement:1", "tenantdb.revoke-access.after-statement:2", "tenantdb.revoke-access.after-statement:3",
				"tenantdb.owner-login.after-nologin", "delete.after-server", "delete.after-catalog"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.must("access", "grant", "carol", "--tenant", slug, "--reason", "INC-3")
				return []string{"tenant", "delete", slug, "--confirm", slug}
			},
			rerun: rerunSame,
		},
		{
			name: "purge",
			points: []string{"purge.after-mark", "tenantdb.drop.after-take-over", "purge.after-drop-database", "tenantdb.roles.after-drop:1", "tenantdb.roles.after-drop:2",
				"purge.after-drop-roles", "purge.after-warehouse", "purge.after-credentials"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.must("rollup", "run", "--tenant", slug)
				f.must("tenant", "delete", slug, "--confirm", slug)
				return []string{"tenant", "purge", slug, "--confirm", slug}
			},
			rerun: rerunSame,
		},
		{
			name:   "reconcile",
			points: []string{"reconcile.after-action", "reconcile.after-action:2"},
			setup: func(f *fleet, slug string) []string {
				a, b := f.createTenant(slug), f.createTenant(slug+"-b")
				for _, tn := range []tenant{a, b} {
					c := f.serverConn(f.serverIndex(tn.Server), "postgres")
					_, err := c.Exec(t0, "GRANT CONNECT, TEMP ON DATABASE t_"+tn.ID+" TO PUBLIC")
					c.Close(t0)
					require.NoError(f.t, err)
				}
				return []string{"reconcile"}
			},
		},
		{
			// Tenants whose databases lack the customer's domain (created before tenantctl
			// wrote it, or dropped by hand): reconcile writes it, killed or not.
			name:   "reconcile writes the domain",
			points: []string{"reconcile.after-action", "reconcile.after-action:2"},
			setup: func(f *fleet, slug string) []string {
				a, b := f.createTenant(slug), f.createTenant(slug+"-b")
				for _, tn := range []tenant{a, b} {
					c := f.serverConn(f.serverIndex(tn.Server), "t_"+tn.ID)
					_, err := c.Exec(t0, "DROP FUNCTION public.tenantctl_domain(); DROP FUNCTION public.tenantctl_email_in_domain(text)")
					c.Close(t0)
					require.NoError(f.t, err)
				}
				return []string{"reconcile"}
			},
			check: func(f *fleet, slug string) {
				for _, s := range []string{slug, slug + "-b"} {
					tn := f.tenant(s)
					c := f.serverConn(f.serverIndex(tn.Server), "t_"+tn.ID)
					var domain string
					err := c.QueryRow(t0, "SELECT public.tenantctl_domain()").Scan(&domain)
					c.Close(t0)
					require.NoError(f.t, err)
					require.Equal(f.t, s+".example", domain)
				}
			},
		},
		{
			// A tenant made before owner logins (its owner NOLOGIN, unconfined, no owner
			// password in the catalog) converted by reconcile: killed after the password
			// was sealed as pending, and after the server took it.
			name:   "reconcile converting an owner login",
			points: []string{"owner-login.after-credential", "owner-login.after-server"},
			setup: func(f *fleet, slug string) []string {
				tn := f.createTenant(slug)
				f.unconvertOwner(tn)
				return []string{"reconcile"}
			},
			check: func(f *fleet, slug string) { f.assertOwnerLogin(f.tenant(slug)) },
		},
		{
			// A tenant of an older tenantctl: the owner not logging in and the admin a
			// standing member of its owner and app roles. Reconcile converts the owner,
			// then revokes the memberships one statement at a time: killed at every step.
			name: "reconcile revoking the admin's memberships",
			points: []string{"owner-login.after-credential", "owner-login.after-server",
				"tenantdb.admin-membership.after-revoke", "tenantdb.admin-membership.after-revoke:2"},
			setup: func(f *fleet, slug string) []string {
				tn := f.createTenant(slug)
				f.unconvertOwner(tn)
				f.grantAdminMemberships(tn)
				return []string{"reconcile"}
			},
			check: func(f *fleet, slug string) {
				tn := f.tenant(slug)
				f.assertOwnerLogin(tn)
				f.assertNoAdminMembership(tn)
			},
		},
		{
			// A materialized view the spec refreshes before the snapshot (as the owner).
			name:   "rollup run refreshing a materialized view",
			points: []string{"rollup.after-refresh"},
			setup: func(f *fleet, slug string) []string {
				tn := f.createTenant(slug)
				c := f.serverConn(f.serverIndex(tn.Server), "t_"+tn.ID)
				_, err := c.Exec(t0, "SET ROLE t_"+tn.ID+"_owner; CREATE MATERIALIZED VIEW user_count AS SELECT 1 AS id, count(*) AS n FROM users WITH NO DATA")
				c.Close(t0)
				require.NoError(f.t, err)
				spec := filepath.Join(f.t.TempDir(), "spec.yaml")
				require.NoError(f.t, os.WriteFile(spec, []byte("tables:\n  - name: users\n    key: [id]\n  - name: user_count\n    key: [id]\n    refresh: true\n"), 0o600))
				f.setEnv("TENANTCTL_ROLLUP_SPEC", spec)
				return []string{"rollup", "run", "--tenant", slug}
			},
			rerun: func(f *fleet, slug string, args []string) {
				f.must(args...)
				f.setEnv("TENANTCTL_ROLLUP_SPEC", "") // the other tenants have no such view
			},
			always: true,
		},
		{
			// Recording the version a tenant's schema matches: the scratch reference
			// database is dropped by the rerun, goose's table written in one transaction.
			name:   "migrate baseline",
			points: []string{"tenantdb.baseline.after-reference", "tenantdb.baseline.after-record"},
			setup: func(f *fleet, slug string) []string {
				tn := f.createTenant(slug)
				return []string{"migrate", "baseline", slug, "--version", fmt.Sprint(tn.SchemaVersion)}
			},
			rerun:  rerunSame,
			always: true,
			check: func(f *fleet, slug string) {
				var left int
				c := f.serverConn(f.serverIndex(f.tenant(slug).Server), "postgres")
				defer c.Close(t0)
				require.NoError(f.t, c.QueryRow(t0, `SELECT count(*) FROM pg_database WHERE datname LIKE 'tenantctl\_baseline\_%'`).Scan(&left))
				require.Zero(f.t, left, "the rerun dropped the scratch database")
			},
		},
		{
			name:   "rollup run",
			points: []string{"rollup.after-table", "rollup.after-table:2", "rollup.before-commit", "rollup.after-commit", "rollup.after-commit:2"},
			setup: func(f *fleet, slug string) []string {
				f.createTenant(slug)
				f.createTenant(slug + "-b")
				return []string{"rollup", "run"}
			},
			rerun: rerunSame,
		},
	}
}

// TestEveryKillPoint kills the real binary at every registered kill point (SIGKILL from
// inside, exactly there) and checks that a rerun of the same command, or reconcile,
// converges: see assertConverged.
func TestEveryKillPoint(t *testing.T) {
	t.Parallel()
	cases := killCases()
	claimed := map[string]bool{}
	for _, c := range cases {
		for _, p := range c.points {
			name, _, _ := strings.Cut(p, ":")
			require.NotNil(t, fault.Lookup(name), "case %q names an unknown point %s", c.name, p)
			claimed[name] = true
		}
	}
	var missing []string
	for _, p := range fault.Points() {
		if !claimed[p.Name()] {
			missing = append(missing, p.Name())
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "every registered kill point must be reached by a case")

	// `make test` kills a sample: every case (family), at random points of it, the seed
	// logged and FAULTTEST_SEED replaying it; `make test-long` (FAULTTEST_LONG=1), or
	// FAULTTEST_CASE while debugging one case, keeps every point.
	only := os.Getenv("FAULTTEST_CASE") // while debugging: run one case (or group)
	if !longMode() && only == "" {
		seed := testSeed(t)
		cases = samplePoints(cases, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), pointsPerCase(t))
		t.Logf("kill points sampled: %d per case, FAULTTEST_SEED=%d (FAULTTEST_LONG=1 kills at every point)", pointsPerCase(t), seed)
	}
	// Plain fleets on disjoint server pairs, one whose servers allow logical replication
	// and one whose server is backed up take the cases at once; a fleet runs its groups
	// of cases in order.
	plan := planFleets(cases, only)
	var kills atomic.Int64
	start := time.Now()
	t.Run("fleets", func(t *testing.T) {
		for g, fc := range plan {
			if len(fc.cases) == 0 {
				continue
			}
			t.Run(fc.name, func(t *testing.T) {
				t.Parallel()
				var f *fleet
				switch fc.kind {
				case "logical":
					f = newLogicalFleet(t)
				case "backup":
					f = newBackupFleet(t)
				default:
					f = newFleet(t, pgtest.Get(t).Servers[plainFleetServers[g]:plainFleetServers[g]+2]...)
				}
				f.createTenant("first-co")
				f.createTenant("second-co")
				for _, c := range fc.cases {
					caseSlug := fmt.Sprintf("k%d-%s", kills.Load()+1, pgtest.RandomSuffix()[:4])
					for k, p := range c.points {
						i := k
						if c.index != nil {
							i = c.index[k] // a sampled point reruns or reconciles as in the full run
						}
						slug := caseSlug
						n := kills.Add(1)
						if !c.shared {
							slug = fmt.Sprintf("k%d-%s", n, pgtest.RandomSuffix()[:4])
						}
						args := c.setup(f, slug)
						f.killAt(p, args...)
						how := "reconcile"
						if c.rerun != nil && (c.always || i%2 == 0) {
							c.rerun(f, slug, args)
							how = "rerun"
						}
						what := fmt.Sprintf("%s killed at %s, then %s", c.name, p, how)
						f.assertConverged(what, false, slug)
						if c.check != nil {
							c.check(f, slug)
						}
						if !c.shared {
							f.purge(slug) // keep the fleet small: checks stay cheap however many points there are
						}
					}
					if c.shared {
						f.purge(caseSlug)
					}
					if c.teardown != nil {
						c.teardown(f)
					}
					f.assertAudit(c.name + ": after every kill point") // the audit is slow: once per case
				}
				f.assertConverged("after every kill", true)
				require.True(t, slices.ContainsFunc(f.tenants(), func(tn tenant) bool { return tn.State == "active" }))
			})
		}
	})
	t.Logf("%d kill points covered by %d kills in %s", len(claimed), kills.Load(), time.Since(start).Round(time.Second))
}

// plainFleets is how many plain fleets take TestEveryKillPoint's cases (the first
// entries of planFleets' plan), each on its own pair of the environment's servers,
// from plainFleetServers[i].
const plainFleets = 3

var plainFleetServers = [plainFleets]int{0, 8, 10}

// fleetCases is the work of one fleet of TestEveryKillPoint.
type fleetCases struct {
	name, kind string
	cases      []killCase
	kills      int
}

// planFleets spreads the cases over three plain fleets, a logical one and a backed-up
// one: whole groups, each plain one to the plain fleet with the least work so far
// (largest groups first), the others to the fleet of their kind, in the order the cases
// are listed within a fleet. A group's work is its kills and its cases: each case ends
// with an audit, which in a sampled run (one kill per case) costs about what the kill
// does.
func planFleets(cases []killCase, only string) []*fleetCases {
	plan := []*fleetCases{{name: "fleet-0"}, {name: "fleet-1"}, {name: "fleet-2"}, {name: "fleet-logical", kind: "logical"},
		{name: "fleet-backup", kind: "backup"}}
	type group struct {
		name, kind string
		cases      []killCase
		kills      int
	}
	var groups []*group
	byName := map[string]*group{}
	for _, c := range cases {
		if only != "" && c.name != only && c.group != only {
			continue
		}
		name := c.group
		if name == "" {
			name = c.name
		}
		g := byName[name]
		if g == nil {
			g = &group{name: name, kind: c.fleet}
			byName[name] = g
			groups = append(groups, g)
		}
		g.cases = append(g.cases, c)
		g.kills += len(c.points)
	}
	sorted := slices.Clone(groups)
	work := func(g *group) int { return g.kills + len(g.cases) }
	sort.SliceStable(sorted, func(i, j int) bool { return work(sorted[i]) > work(sorted[j]) })
	assigned := map[*group]*fleetCases{}
	planned := map[*fleetCases]int{}
	for _, g := range sorted {
		var to *fleetCases
		for _, fc := range plan[plainFleets:] {
			if fc.kind == g.kind {
				to = fc
			}
		}
		if g.kind == "" {
			to = plan[0]
			for _, fc := range plan[1:plainFleets] {
				if planned[fc] < planned[to] {
					to = fc
				}
			}
		}
		assigned[g] = to
		to.kills += g.kills
		planned[to] += work(g)
	}
	for _, g := range groups { // listed order within a fleet
		assigned[g].cases = append(assigned[g].cases, g.cases...)
	}
	return plan
}
