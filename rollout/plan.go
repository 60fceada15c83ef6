package rollout

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Waves of a run.
const (
	WaveCanary = "canary"
	WaveRest   = "rest"
	// WaveSingle is the only wave of a run for one named tenant.
	WaveSingle = "single"
)

// migratable are the states whose databases are kept current. Suspended tenants are
// migrated too: their data must be current when they are resumed. Deleting tenants wait
// for their purge; provisioning and failed ones are finished by create or reconcile,
// which bring them to the latest version themselves.
var migratable = []string{catalog.StateActive, catalog.StateSuspended}

// notMigratable refuses tenant t, which is not in a migratable state, for what it was
// asked ("migrated", "baselined").
func notMigratable(t catalog.Tenant, what string) error {
	return validate.Errorf("tenant %q is %s: only active and suspended tenants are %s", t.Slug, t.State, what)
}

// migratableTenant returns the live tenant named slug, refusing one that is not in a
// migratable state.
func migratableTenant(ctx context.Context, store *catalog.Store, slug, what string) (catalog.Tenant, error) {
	t, err := store.GetTenant(ctx, slug)
	if err != nil {
		return t, err
	}
	if !slices.Contains(migratable, t.State) {
		return t, notMigratable(t, what)
	}
	return t, nil
}

// unlisted says why the tenant a listing of migratable tenants was narrowed to did not
// come back: it does not exist, or it is in a state that is not migrated.
func unlisted(ctx context.Context, store *catalog.Store, slug string) error {
	t, err := store.GetTenant(ctx, slug)
	if err != nil {
		return err
	}
	return notMigratable(t, "migrated")
}

// Step is one tenant's place in a plan.
type Step struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	Server string `json:"server"`
	State  string `json:"state"`
	Wave   string `json:"wave"`
	// From is the version the catalog records for the tenant.
	From int64 `json:"from"`
	// Pending are the versions to apply as far as the catalog knows (the tenant's own
	// goose table has the last word when it is migrated).
	Pending []int64 `json:"pending"`
	// LastError is the error of the tenant's previous failed attempt.
	LastError string `json:"last_error,omitempty"`
}

// Plan is what a run will do.
type Plan struct {
	Latest int64  `json:"latest"`
	Hash   string `json:"hash"`
	Canary []Step `json:"canary"`
	Rest   []Step `json:"rest"`
	// Current counts the tenants the catalog records as current and error-free: they are
	// not visited (unless Verify).
	Current int `json:"current"`
	// Changed lists the changed files accepted with AllowChanged.
	Changed []Change `json:"changed,omitempty"`
}

// Steps returns every step in run order.
func (p Plan) Steps() []Step { return append(append([]Step{}, p.Canary...), p.Rest...) }

// planFleet decides which tenants to visit and in which wave. The catalog's recorded
// version is the fast path: a tenant recorded at the latest version without an error is
// not visited, so a run with nothing pending opens no tenant connection. (A database
// changed behind tenantctl's back is caught by Verify or `migrate status`, which reads
// every goose table and corrects the catalog.)
func planFleet(ctx context.Context, o *Options, s Set) (Plan, []catalog.Tenant, error) {
	plan := Plan{Latest: s.Latest, Hash: s.Hash}
	f := catalog.TenantFilter{States: migratable, Slug: o.Tenant}
	tenants, err := o.Store.ListTenants(ctx, f)
	if err != nil {
		return plan, nil, fmt.Errorf("list tenants: %w", err)
	}
	if o.Tenant != "" && len(tenants) == 0 {
		return plan, nil, unlisted(ctx, o.Store, o.Tenant)
	}
	var ahead []string
	var todo []Step
	for _, t := range tenants {
		if t.SchemaVersion > s.Latest {
			ahead = append(ahead, fmt.Sprintf("%s (version %d)", t.Slug, t.SchemaVersion))
			continue
		}
		if t.SchemaVersion == s.Latest && t.MigrationError == "" && !o.Verify && o.Tenant == "" {
			plan.Current++
			continue
		}
		todo = append(todo, Step{Slug: t.Slug, ID: t.ID, Server: t.Server, State: t.State,
			From: t.SchemaVersion, Pending: s.After(t.SchemaVersion), LastError: t.MigrationError})
	}
	if len(ahead) > 0 {
		return plan, nil, validate.Errorf("tenants %s are newer than the newest migration (version %d) in the set: "+
			"are the tenant migrations the right directory?", strings.Join(ahead, ", "), s.Latest)
	}
	if o.Tenant != "" {
		for i := range todo {
			todo[i].Wave = WaveSingle
		}
		plan.Rest = todo
		return plan, tenants, nil
	}
	plan.Canary, plan.Rest = waves(todo, o.Canary)
	return plan, tenants, nil
}

// waves splits the tenants to visit into the canary wave and the rest. Canaries are
// taken round-robin across servers (so every server is exercised early) among tenants
// without a previous error (a tenant known to be broken says nothing about the
// migration). The rest runs fresh tenants first and previously failed ones last.
func waves(todo []Step, canary int) (first, rest []Step) {
	var fresh, failed []Step
	for _, st := range todo {
		if st.LastError == "" {
			fresh = append(fresh, st)
		} else {
			failed = append(failed, st)
		}
	}
	fresh = interleave(fresh)
	n := min(max(canary, 0), len(fresh))
	first = fresh[:n]
	for i := range first {
		first[i].Wave = WaveCanary
	}
	rest = append(append([]Step{}, fresh[n:]...), interleave(failed)...)
	for i := range rest {
		rest[i].Wave = WaveRest
	}
	return first, rest
}

// interleave orders steps round-robin across servers (by server name, then slug).
func interleave(steps []Step) []Step {
	by := map[string][]Step{}
	var servers []string
	for _, st := range steps {
		if _, ok := by[st.Server]; !ok {
			servers = append(servers, st.Server)
		}
		by[st.Server] = append(by[st.Server], st)
	}
	sort.Strings(servers)
	for _, s := range servers {
		sort.Slice(by[s], func(i, j int) bool { return by[s][i].Slug < by[s][j].Slug })
	}
	out := make([]Step, 0, len(steps))
	for len(out) < len(steps) {
		for _, s := range servers {
			if len(by[s]) > 0 {
				out = append(out, by[s][0])
				by[s] = by[s][1:]
			}
		}
	}
	return out
}

// stepServer is the server a step runs on, for [fleet.Dispatch].
func stepServer(st Step) string { return st.Server }
