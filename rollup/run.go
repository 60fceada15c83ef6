package rollup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/warehouse"
)

// Tenant outcomes.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Result is what a [Run] did, tenant by tenant.
type Result struct {
	Tenants []TenantResult `json:"tenants"`
}

// TenantResult is the outcome for one tenant.
type TenantResult struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	Server string `json:"server"`
	// Status is ok, failed, or skipped (deleted while the run went on).
	Status      string        `json:"status"`
	RowsCopied  int64         `json:"rows_copied"`
	RowsDeleted int64         `json:"rows_deleted"`
	Duration    time.Duration `json:"-"`
	DurationMS  int64         `json:"duration_ms"`
	Tables      []TableResult `json:"tables,omitempty"`
	Err         error         `json:"-"`
	Error       string        `json:"error"`
}

// TableResult is the outcome for one table of a tenant that succeeded.
type TableResult struct {
	Table string `json:"table"`
	// Mode is how the table was copied this time: incremental or full.
	Mode string `json:"mode"`
	// Reason says why a table in incremental mode was copied in full (first run, columns
	// changed…).
	Reason      string `json:"reason,omitempty"`
	RowsCopied  int64  `json:"rows_copied"`
	RowsDeleted int64  `json:"rows_deleted"`
	// Watermark is the tenant's new watermark (a 64-bit transaction id).
	Watermark int64 `json:"watermark"`
	// HeldBack is how many transaction ids the oldest transaction still running on the
	// tenant's server held the watermark back by: rows those transactions write are read
	// again by the next run (correct, but more work).
	HeldBack int64 `json:"held_back"`
	// Skipped is true when the table was not copied this run (its warehouse rows and
	// watermark are as the last run left them); Note says why.
	Skipped bool   `json:"skipped,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Totals are a run's figures: tenants by outcome and rows copied and deleted.
type Totals struct {
	Tenants, OK, Failed, Skipped int64
	RowsCopied, RowsDeleted      int64
}

// Totals counts the run's tenants and rows.
func (r Result) Totals() Totals {
	t := Totals{Tenants: int64(len(r.Tenants))}
	for _, tr := range r.Tenants {
		switch tr.Status {
		case StatusOK:
			t.OK++
		case StatusFailed:
			t.Failed++
		case StatusSkipped:
			t.Skipped++
		}
		t.RowsCopied += tr.RowsCopied
		t.RowsDeleted += tr.RowsDeleted
	}
	return t
}

// Map is the form recorded with the job run in the catalog.
func (t Totals) Map() map[string]int64 {
	return map[string]int64{"tenants": t.Tenants, "tenants_ok": t.OK, "tenants_failed": t.Failed,
		"tenants_skipped": t.Skipped, "rows_copied": t.RowsCopied, "rows_deleted": t.RowsDeleted}
}

// Counts are the figures recorded with the job run ([Result.Totals] as a map).
func (r Result) Counts() map[string]int64 { return r.Totals().Map() }

// Failed returns the tenants that failed.
func (r Result) Failed() []TenantResult {
	var out []TenantResult
	for _, t := range r.Tenants {
		if t.Status == StatusFailed {
			out = append(out, t)
		}
	}
	return out
}

// Targets returns the tenants a run rolls up: the one named by slug, or every active or
// suspended tenant. A slug that names no such tenant is invalid input.
func Targets(ctx context.Context, store *catalog.Store, slug string) ([]catalog.Tenant, error) {
	if slug != "" {
		t, err := store.GetTenant(ctx, slug)
		if err != nil {
			return nil, err
		}
		if !rollable(t.State) {
			return nil, validate.Invalid(fmt.Errorf("tenant %q is %s: %w", slug, t.State, ErrNotRollable))
		}
		return []catalog.Tenant{t}, nil
	}
	return store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateActive, catalog.StateSuspended}})
}

func rollable(state string) bool {
	return state == catalog.StateActive || state == catalog.StateSuspended
}

// Run copies, for each target tenant, the rows of the spec's tables changed since its
// last run into the warehouse, with bounded concurrency overall and per server. Each
// tenant is copied from one snapshot of its database and written in one warehouse
// transaction together with its new watermarks, so a crash at any point followed by
// another run neither loses nor duplicates a row. One tenant's failure is recorded (its
// watermarks keep their last error) and never stops the others: when any failed, the
// error is a [*PartialError] and the Result still lists every tenant. Run does not
// record a job run; its caller does (see [Result.Counts]).
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	var pool *pgxpool.Pool
	var err error
	if o.Warehouse != nil {
		pool, err = o.Warehouse.PoolWith(ctx, o.Concurrency+1)
	} else {
		pool, err = ownPool(ctx, o)
		if pool != nil {
			defer pool.Close()
		}
	}
	if err != nil {
		return Result{}, err
	}
	targets := o.Targets
	if targets == nil {
		if targets, err = Targets(ctx, o.Store, o.Tenant); err != nil {
			return Result{}, err
		}
	}
	// A warehouse registered by an older tenantctl lacks columns the watermarks need.
	if ok, err := warehouse.Current(ctx, pool); err != nil || !ok {
		dsn, err := o.Store.WarehouseDSN(ctx)
		if err != nil {
			return Result{}, err
		}
		if err := warehouse.Migrate(ctx, dsn); err != nil {
			return Result{}, err
		}
	}

	servers := o.Servers
	if servers == nil {
		servers = fleet.NewServers(o.Store)
		defer servers.Close()
	}
	r := &runner{o: o, pool: pool, servers: servers}
	if len(targets) > 1 {
		// The owners' passwords in one catalog statement, not one per tenant. A tenant
		// missing here reads its own (which says why it has none); a password rotated
		// since is retried by catalog.LoginAsOwner.
		ids := make([]string, len(targets))
		for i, t := range targets {
			ids[i] = t.ID
		}
		if r.ownerPasswords, err = o.Store.Credentials(ctx, catalog.OwnerCredential, ids); err != nil {
			r.ownerPasswords = nil
		}
	}
	idx := make([]int, len(targets))
	for i := range idx {
		idx[i] = i
	}
	results := make([]TenantResult, len(targets))
	rep := o.Progress.Start(len(targets))
	notStarted := fleet.Dispatch(ctx, idx, func(i int) string { return targets[i].Server },
		o.Limits(),
		func(ctx context.Context, i int) TenantResult { return r.tenant(ctx, targets[i]) },
		func(i int, res TenantResult) bool {
			results[i] = res
			rep.Done(res.Slug, res.Err, "rows_copied", res.RowsCopied, "rows_deleted", res.RowsDeleted)
			return false
		})
	rep.Close()
	for _, i := range notStarted {
		t := targets[i]
		results[i] = TenantResult{Slug: t.Slug, ID: t.ID, Server: t.Server, Status: StatusFailed, Err: ctx.Err()}
	}

	res := Result{Tenants: results}
	pe := &PartialError{}
	for i := range res.Tenants {
		t := &res.Tenants[i]
		if t.Err != nil {
			t.Status, t.Error = StatusFailed, t.Err.Error()
			pe.Fail(t.Slug, t.Err)
		} else if t.Status == StatusOK {
			pe.Succeeded = append(pe.Succeeded, t.Slug)
		}
	}
	if len(pe.Failed) > 0 {
		return res, pe
	}
	return res, nil
}

// ownPool opens the run's own warehouse pool: one connection per worker, plus one to
// record failures while workers hold theirs.
func ownPool(ctx context.Context, o Options) (*pgxpool.Pool, error) {
	dsn, err := o.Store.WarehouseDSN(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := dbconn.Pool(ctx, dsn, int32(o.Concurrency+1))
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	return pool, nil
}

// settleWait bounds how long a failed tenant waits for an operation holding its lock
// before its state is read (see [catalog.Store.SettledTenant]).
const settleWait = 5 * time.Second

type runner struct {
	o       Options
	pool    *pgxpool.Pool
	servers *fleet.Servers
	// ownerPasswords are the targets' owner passwords read at the start of the run (see
	// Run), by tenant id; read only after.
	ownerPasswords map[string]string
	// types holds, by server name, the server's bootstrap types (map[uint32]bootType),
	// read with the first tenant of the server that the run describes.
	types sync.Map
}

// bootTypes returns the server's bootstrap types when a tenant of it read them, or nil.
func (r *runner) bootTypes(server string) map[uint32]bootType {
	if v, ok := r.types.Load(server); ok {
		return v.(map[uint32]bootType)
	}
	return nil
}

// tenant rolls up one tenant and records its failure, if any, in the warehouse.
func (r *runner) tenant(ctx context.Context, t catalog.Tenant) (res TenantResult) {
	start := time.Now()
	res = TenantResult{Slug: t.Slug, ID: t.ID, Server: t.Server, Status: StatusOK}
	defer func() {
		res.Duration = time.Since(start)
		res.DurationMS = res.Duration.Milliseconds()
	}()
	err := r.copyOn(ctx, t, &res)
	if err != nil && !errors.Is(err, errSkip) && ctx.Err() == nil {
		// A tenant deleted or purged while it was being copied (a purge's DROP DATABASE
		// ... WITH (FORCE) ends the copy's session) is skipped, not failed: nothing of it
		// was committed, and there is nothing left to roll up.
		// A delete ends tenantctl's own owner sessions before it records the tenant as
		// deleting, under the tenant's lock: read the state once that has settled.
		if cur, gerr := r.o.Store.SettledTenant(ctx, t.ID, settleWait); gerr == nil && !rollable(cur.State) {
			r.o.Log.Info("tenant skipped: it was deleted during the run", "tenant", t.Slug, "state", cur.State)
			err = errSkip
		}
	}
	if errors.Is(err, errSkip) {
		res.Status = StatusSkipped
		return res
	}
	if err != nil {
		res.Err = err // PartialError and the per-tenant output name the tenant
		res.Status, res.RowsCopied, res.RowsDeleted, res.Tables = StatusFailed, 0, 0, nil
		if rerr := r.recordFailure(ctx, t, err); rerr != nil {
			r.o.Log.Warn("could not record the rollup failure in the warehouse", "tenant", t.Slug, "error", rerr)
		}
	}
	return res
}

// errSkip ends a tenant's run without error: it was deleted while the run went on.
var errSkip = errors.New("skipped")

// copyOn copies the tenant from its server (the dispatcher holds the server's slot).
func (r *runner) copyOn(ctx context.Context, t catalog.Tenant, res *TenantResult) error {
	if t.Server == "" {
		return fmt.Errorf("the tenant has no server")
	}
	srv, err := r.servers.Get(ctx, t.Server)
	if err != nil {
		return err
	}
	return r.copyTenant(ctx, srv, t, res)
}

// recordFailure writes the error on the tenant's watermarks, keeping the watermarks
// themselves. It holds the tenant's warehouse lock and checks in the catalog that the
// tenant still exists: a failure caused by a purge must not leave a row of the purged
// tenant behind.
func (r *runner) recordFailure(ctx context.Context, t catalog.Tenant, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := warehouse.LockTenantXact(ctx, tx, t.ID); err != nil {
		return err
	}
	cur, err := r.o.Store.GetTenantByID(ctx, t.ID)
	if err != nil {
		return err
	}
	if !rollable(cur.State) {
		return nil
	}
	tables := make([]string, len(r.o.Spec.Tables))
	for i, st := range r.o.Spec.Tables {
		tables[i] = st.Relname()
	}
	if err := warehouse.RecordFailure(ctx, tx, t.ID, tables, secret.Scrub(cause.Error())); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
