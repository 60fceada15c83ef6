package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Outcome is what happened to one tenant in a run.
type Outcome struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	Server string `json:"server"`
	Wave   string `json:"wave"`
	// From is the version the catalog recorded before the run; To the version the
	// tenant's database is at afterwards.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Applied are the versions applied in this run.
	Applied []int64 `json:"applied"`
	// FailedVersion is the version that failed (0 when the tenant succeeded).
	FailedVersion int64  `json:"failed_version,omitempty"`
	Error         string `json:"error,omitempty"`
	Err           error  `json:"-"`
	// Gone is true when the tenant was deleted or purged while it migrated; it is
	// neither a failure nor recorded.
	Gone     bool          `json:"gone,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Result is the outcome of a run.
type Result struct {
	Plan   Plan `json:"plan"`
	DryRun bool `json:"dry_run"`
	// Migrated are the tenants visited successfully (including, with Verify, those that
	// had nothing to apply).
	Migrated []Outcome `json:"migrated"`
	Failed   []Outcome `json:"failed"`
	// Skipped are the tenants not started because the run stopped early.
	Skipped []Step `json:"skipped"`
	// Stopped says why the run stopped early ("" when it did not).
	Stopped   string            `json:"stopped,omitempty"`
	Templates []TemplateOutcome `json:"templates,omitempty"`
	// Elapsed is the whole run; TenantsElapsed the waves alone.
	Elapsed        time.Duration `json:"elapsed_ns"`
	TenantsElapsed time.Duration `json:"tenants_elapsed_ns"`
}

// Totals are a run's figures: tenants migrated (at least one version applied), failed,
// skipped (not started), and current (nothing to do).
type Totals struct {
	Migrated, Failed, Skipped, Current int64
}

// Totals counts the run's tenants.
func (r Result) Totals() Totals {
	t := Totals{Failed: int64(len(r.Failed)), Skipped: int64(len(r.Skipped)), Current: int64(r.Plan.Current)}
	for _, o := range r.Migrated {
		if len(o.Applied) > 0 {
			t.Migrated++
		} else {
			t.Current++
		}
	}
	return t
}

// Map is the form recorded with the job run in the catalog.
func (t Totals) Map() map[string]int64 {
	return map[string]int64{"migrated": t.Migrated, "failed": t.Failed, "skipped": t.Skipped, "current": t.Current}
}

// Counts are the figures recorded with the run's job ([Result.Totals] as a map).
func (r Result) Counts() map[string]int64 { return r.Totals().Map() }

// Run applies pending tenant migrations: to the one tenant named in o.Tenant, or to every
// active and suspended tenant in waves — the canary wave first (any failure there stops
// the run before the rest), then the rest (new work stops after o.MaxFailures failures).
// Each tenant migrates on its own connection as its owner role, under goose's session
// advisory lock with lock_timeout and statement_timeout set; its outcome (version, or
// error, failed version and time) is recorded in the catalog as it finishes (off the
// tenants' critical path, and always before Run returns), so a rerun picks up exactly
// what is left. Once the canary wave passed, every server's template database is
// rebuilt for the set and superseded templates dropped in the background, while the
// rest of the fleet migrates; the run reports them when the whole fleet is current.
//
// A run with failed or skipped tenants returns its Result with a [*PartialError]. A
// migration set whose applied files changed is refused with a [*ChangedError] before
// anything is touched.
func Run(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	var res Result
	set, changes, err := o.loadChecked(ctx)
	if err != nil {
		return res, err
	}
	plan, tenants, err := planFleet(ctx, &o, set)
	if err != nil {
		return res, err
	}
	plan.Changed = changes
	res.Plan = plan
	if o.DryRun {
		res.DryRun = true
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if o.Tenant == "" {
		unlock, err := fleetLock(ctx, o.Store.Pool())
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	if len(changes) > 0 {
		o.Log.Warn("accepting changed migration files", "changes", len(changes))
		if err := acceptChanges(ctx, o.Store, set, changes); err != nil {
			return res, err
		}
	}

	srvs, release := handles(o.Store, o.Servers)
	defer release()
	r := &runner{o: &o, set: set, servers: srvs,
		mopts: migrateOptions(o.LockTimeout, o.StatementTimeout, o.LockWait)}
	r.startRecorder(ctx)
	rep := o.Progress.Start(len(plan.Canary) + len(plan.Rest))
	waveStart := time.Now()
	lim := o.Limits()
	var stop error
	if len(plan.Canary) > 0 {
		o.Log.Info("canary wave", "tenants", len(plan.Canary), "latest", set.Latest)
		skipped := fleet.Dispatch(ctx, plan.Canary, stepServer, lim, r.migrate, r.collect(&res, rep, 1))
		res.Skipped = append(res.Skipped, skipped...)
		if len(res.Failed) > 0 {
			stop = ErrCanaryFailed
		}
	}
	var templates *templateWork
	if stop == nil && ctx.Err() == nil && o.Tenant == "" {
		templates = startTemplates(ctx, &o, r.servers, set)
	}
	if stop == nil && ctx.Err() == nil && len(plan.Rest) > 0 {
		o.Log.Info("migrating", "tenants", len(plan.Rest), "latest", set.Latest)
		limit := o.MaxFailures
		if o.Tenant != "" {
			limit = -1
		}
		failedBefore := len(res.Failed)
		skipped := fleet.Dispatch(ctx, plan.Rest, stepServer, lim, r.migrate, r.collect(&res, rep, limit))
		res.Skipped = append(res.Skipped, skipped...)
		if len(skipped) > 0 && limit > 0 && len(res.Failed)-failedBefore >= limit {
			stop = ErrMaxFailures
		}
	} else if stop != nil || ctx.Err() != nil {
		res.Skipped = append(res.Skipped, plan.Rest...)
	}
	applyRecordErrors(&res, r.rec.finish())
	templates.wait()
	rep.Close()
	res.TenantsElapsed = time.Since(waveStart)
	if stop == nil && ctx.Err() != nil && len(res.Skipped) > 0 {
		stop = ctx.Err()
	}
	if stop != nil {
		res.Stopped = stop.Error()
	}

	// Every version up to the highest one a tenant is at has been applied somewhere:
	// remember what those files looked like.
	var reached int64
	for _, t := range tenants {
		reached = max(reached, t.SchemaVersion)
	}
	for _, out := range slices.Concat(res.Migrated, res.Failed) {
		reached = max(reached, out.To)
	}
	if err := recordApplied(context.WithoutCancel(ctx), o.Store, set, reached); err != nil {
		return res, err
	}

	if len(res.Failed) > 0 || len(res.Skipped) > 0 {
		res.Elapsed = time.Since(start)
		return res, partialError(res, stop)
	}
	if o.Tenant == "" {
		var err error
		res.Templates, err = rebuildTemplates(ctx, &o, r.servers, set) // cheap once built: record, retry what failed
		res.Templates = templates.merge(res.Templates)
		if err != nil {
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("every tenant is current, but %w (the next tenant create builds the template itself)", err)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func partialError(res Result, stop error) *PartialError {
	pe := &PartialError{Failed: map[string]error{}, Reason: stop}
	for _, o := range res.Migrated {
		pe.Succeeded = append(pe.Succeeded, o.Slug)
	}
	for _, o := range res.Failed {
		pe.Failed[o.Slug] = o.Err
	}
	for _, s := range res.Skipped {
		pe.Skipped = append(pe.Skipped, s.Slug)
	}
	return pe
}

type runner struct {
	o       *Options
	set     Set
	servers *fleet.Servers
	mopts   tenantdb.MigrateOptions
	rec     *recorder
}

// recorder writes outcomes to the catalog off the tenants' critical path: a worker hands
// its outcome over and frees its slot at once, while a few recorder goroutines write
// them (a catalog commit or two per tenant would otherwise add to every tenant's time).
// The queue is bounded, so a slow catalog slows the run down instead of piling up
// outcomes. An outcome lost to a crash before it is written is harmless: the tenant's
// own goose table is the truth, and the next run or `migrate status` catches up.
type recorder struct {
	ch   chan recordReq
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs map[string]error // by tenant id
}

type recordReq struct {
	st  Step
	out Outcome
}

// startRecorder starts the recorder goroutines; they end when finish closes the queue.
func (r *runner) startRecorder(ctx context.Context) {
	rec := &recorder{ch: make(chan recordReq, r.o.Concurrency), errs: map[string]error{}}
	ctx = context.WithoutCancel(ctx) // a cancelled run still records what it did
	for range min(r.o.Concurrency, 4) {
		rec.wg.Go(func() {
			for req := range rec.ch {
				err := r.record(ctx, req.st, req.out)
				fpTenantRecorded.Hit()
				if err != nil {
					rec.mu.Lock()
					rec.errs[req.st.ID] = err
					rec.mu.Unlock()
				}
			}
		})
	}
	r.rec = rec
}

func (rec *recorder) enqueue(st Step, out Outcome) { rec.ch <- recordReq{st, out} }

// finish waits for every outcome to be written and returns the write errors by tenant id.
func (rec *recorder) finish() map[string]error {
	close(rec.ch)
	rec.wg.Wait()
	return rec.errs
}

// applyRecordErrors turns a tenant whose outcome could not be written into a failure:
// the run must not report success for what the catalog does not know.
func applyRecordErrors(res *Result, errs map[string]error) {
	if len(errs) == 0 {
		return
	}
	// The tenants that failed on their own: add the failure to record it.
	for i, o := range res.Failed {
		if err, bad := errs[o.ID]; bad {
			res.Failed[i].Err = errors.Join(o.Err, fmt.Errorf("recording the failure in the catalog failed: %w", err))
			res.Failed[i].Error = secret.Scrub(res.Failed[i].Err.Error())
		}
	}
	// The tenants migrated whose success was not recorded fail now.
	var ok []Outcome
	for _, o := range res.Migrated {
		if err, bad := errs[o.ID]; bad {
			o.Err = fmt.Errorf("migrated to version %d, but recording it in the catalog failed (the next run records it): %w", o.To, err)
			o.Error = secret.Scrub(o.Err.Error())
			res.Failed = append(res.Failed, o)
			continue
		}
		ok = append(ok, o)
	}
	res.Migrated = ok
}

// collect returns the dispatch callback that files each outcome in res, reports it, and
// asks to stop once stopAfter failures happened (never when stopAfter < 0).
func (r *runner) collect(res *Result, rep progress.Reporter, stopAfter int) func(Step, Outcome) bool {
	failures := 0
	return func(st Step, out Outcome) bool {
		rep.Done(st.Slug, out.Err, "server", st.Server, "wave", st.Wave, "from", out.From, "to", out.To)
		if out.Err == nil {
			res.Migrated = append(res.Migrated, out)
			return false
		}
		res.Failed = append(res.Failed, out)
		failures++
		return stopAfter > 0 && failures >= stopAfter
	}
}

// migrate brings one tenant to the latest version and hands the outcome to the
// recorder. Its connection is opened here and closed before it returns, so open
// connections never exceed the number of tenants in flight.
func (r *runner) migrate(ctx context.Context, st Step) Outcome {
	start := time.Now()
	out := Outcome{Slug: st.Slug, ID: st.ID, Server: st.Server, Wave: st.Wave, From: st.From, To: st.From, Applied: []int64{}}
	srv, err := r.servers.Get(ctx, st.Server)
	if err == nil {
		err = r.apply(ctx, srv, st, &out)
	}
	if err != nil && ctx.Err() == nil {
		// A tenant deleted or purged while it migrated (a purge's DROP DATABASE ... WITH
		// (FORCE) ends the migration's session) is no failure of the run: it is simply
		// no longer part of the fleet.
		// A delete ends tenantctl's own owner sessions before it records the tenant as
		// deleting, under the tenant's lock: read the state once that has settled.
		if cur, gerr := r.o.Store.SettledTenant(ctx, st.ID, 5*time.Second); gerr == nil &&
			cur.State != catalog.StateActive && cur.State != catalog.StateSuspended {
			r.o.Log.Info("tenant left out: it was deleted during the run", "tenant", st.Slug, "state", cur.State)
			err, out.Gone = nil, true
		}
	}
	if err != nil {
		out.Err = r.explain(ctx, err)
		out.Error = secret.Scrub(out.Err.Error())
		if out.FailedVersion == 0 {
			if next := r.set.After(out.To); len(next) > 0 {
				out.FailedVersion = next[0]
			}
		}
	}
	out.Duration = time.Since(start)
	if err == nil {
		fpTenantMigrated.Hit()
	}
	r.rec.enqueue(st, out)
	return out
}

// apply runs goose on the tenant database and fills in the applied versions, the
// version reached and the version that failed.
func (r *runner) apply(ctx context.Context, srv *tenantdb.Server, st Step, out *Outcome) error {
	mopts, err := ownerLogin(ctx, r.o.Store, st.ID, r.mopts)
	if err != nil {
		return err
	}
	// A concurrent rotate-credentials may set the owner's new password on the server
	// between this run's read of the catalog and its login: then it logs in with the new one.
	p, err := catalog.LoginAsOwner(ctx, r.o.Store, st.ID, mopts.OwnerPassword, func(pw string) (*migrations.Provider, error) {
		mopts.OwnerPassword = pw
		p, err := srv.MigrationProvider(ctx, st.ID, r.set.FS, mopts)
		if err != nil {
			return nil, err
		}
		// The login itself, here where a refused one is retried (goose would log in
		// at its first statement, past the retry).
		if err := p.Connect(ctx); err != nil {
			p.Close()
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return err
	}
	defer p.Close()
	results, upErr := p.Up(ctx)
	for _, res := range results {
		out.Applied = append(out.Applied, res.Source.Version)
	}
	var pe *goose.PartialError
	if errors.As(upErr, &pe) {
		for _, res := range pe.Applied {
			out.Applied = append(out.Applied, res.Source.Version)
		}
		if pe.Failed != nil && pe.Failed.Source != nil {
			out.FailedVersion = pe.Failed.Source.Version
		}
	}
	if upErr == nil && len(results) > 0 {
		// goose applied in order up to the newest version (anything else is an error).
		out.To = results[len(results)-1].Source.Version
		return nil
	}
	// The database's own word on its version, even after a failure (possibly on a fresh
	// connection when the failure took the first one down).
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	current, _, verr := p.GetVersions(vctx)
	cancel()
	if verr == nil {
		out.To = current
	} else {
		for _, v := range out.Applied {
			out.To = max(out.To, v)
		}
	}
	if upErr != nil {
		return migrations.Describe(upErr)
	}
	return verr
}

// explain adds what to do to the errors an operator will meet most.
func (r *runner) explain(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return err
	case dbconn.HasCode(err, pgerrcode.LockNotAvailable):
		return fmt.Errorf("%w (a transaction in the tenant database held a conflicting lock for longer than the lock timeout of %s; "+
			"rerun when it has finished)", err, r.o.LockTimeout)
	case dbconn.HasCode(err, pgerrcode.QueryCanceled):
		return fmt.Errorf("%w (a statement ran longer than the statement timeout of %s)", err, r.o.StatementTimeout)
	case migrations.LockNotAcquired(err):
		return fmt.Errorf("%w (another migration of this tenant database held goose's lock for more than %s)", err, r.o.LockWait)
	}
	return err
}

// record writes the tenant's outcome to the catalog. A tenant visited with nothing to
// do and no previous error needs no write.
func (r *runner) record(ctx context.Context, st Step, out Outcome) error {
	if out.Gone {
		return nil
	}
	if out.Err != nil {
		return r.o.Store.RecordMigrationEvent(ctx, st.ID, out.To, out.FailedVersion, out.Error, catalog.Event{Action: "tenant.migrate.failed", Slug: st.Slug,
			Details: map[string]any{"server": st.Server, "from": st.From, "to": out.To, "failed_version": out.FailedVersion, "error": out.Error}})
	}
	if len(out.Applied) == 0 && out.To == st.From && st.LastError == "" {
		return nil
	}
	return r.o.Store.RecordMigrationEvent(ctx, st.ID, out.To, 0, "", catalog.Event{Action: "tenant.migrate", Slug: st.Slug,
		Details: map[string]any{"server": st.Server, "from": st.From, "to": out.To, "applied": out.Applied}})
}

// ownerLogin returns o with the tenant owner role's password when the catalog holds
// one, so the migration session logs in as the owner (flat cost, however many tenants
// share the server); a tenant not yet converted by reconcile migrates as before, the
// admin taking the owner role.
func ownerLogin(ctx context.Context, store *catalog.Store, id string, o tenantdb.MigrateOptions) (tenantdb.MigrateOptions, error) {
	pw, err := store.Credential(ctx, id, catalog.OwnerCredential)
	if errors.Is(err, catalog.ErrNoCredential) {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	o.OwnerPassword = pw
	return o, nil
}
