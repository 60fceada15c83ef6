package mover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// MoveOptions describe a move.
type MoveOptions struct {
	Slug string
	// To is the target server.
	To string
	// Method is dump (default) or logical.
	Method string
	// KeepSource is how long the source copy stays (NOLOGIN) after the switch; nil
	// means [DefaultKeepSource], 0 drops it at once.
	KeepSource *time.Duration
	// DryRun reports the plan and changes nothing.
	DryRun bool
}

// Validate checks the options without touching anything.
func (o *MoveOptions) Validate() error {
	if err := validate.Slug(o.Slug); err != nil {
		return err
	}
	if o.To == "" {
		return validate.Errorf("a target server is required")
	}
	if err := validate.ServerName(o.To); err != nil {
		return err
	}
	switch o.Method {
	case "":
		o.Method = MethodDump
	case MethodDump, MethodLogical:
	default:
		return validate.Errorf("invalid method %q: use dump or logical", o.Method)
	}
	if err := checkKeep(o.KeepSource, "source retention"); err != nil {
		return err
	}
	return nil
}

func (o MoveOptions) keep() time.Duration { return keepSource(o.KeepSource) }

// checkKeep refuses a negative KeepSource option; what names it in the error.
func checkKeep(d *time.Duration, what string) error {
	if d != nil && *d < 0 {
		return validate.Errorf("invalid %s %s: it must not be negative", what, *d)
	}
	return nil
}

// keepSource is the value of a KeepSource option: nil means [DefaultKeepSource].
func keepSource(d *time.Duration) time.Duration {
	if d == nil {
		return DefaultKeepSource
	}
	return *d
}

// Result is the outcome of one move.
type Result struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Method string `json:"method"`
	// Status is the move's status in the catalog (switched, done, rolled-back), or
	// "planned" for a dry run.
	Status string `json:"status"`
	// SizeBytes is the source database's size (dry run) and Bytes the archive streamed.
	SizeBytes int64 `json:"size_bytes,omitempty"`
	Bytes     int64 `json:"bytes,omitempty"`
	Tables    int   `json:"tables,omitempty"`
	Rows      int64 `json:"rows,omitempty"`
	// Downtime is how long the application could not write: from suspension to resume.
	Downtime        time.Duration `json:"downtime_ns,omitempty"`
	Duration        time.Duration `json:"duration_ns"`
	KeepSourceUntil *time.Time    `json:"keep_source_until,omitempty"`
	Resumed         bool          `json:"resumed,omitempty"`
}

var moveSteps = []string{StepPlanned, StepSuspended, StepTargetRoles, StepCopying, StepCopied, StepHardened, StepVerified, StepSwitched, StepResumed}

// stepsOf returns the steps of a move by method.
func stepsOf(method string) []string {
	if method == MethodLogical {
		return logicalSteps
	}
	return moveSteps
}

// Move copies a tenant's database to another server and switches the catalog to it.
// A move interrupted earlier (by a crash or a kill) is finished, whatever --to says as
// long as it names the same target.
func (m *Mover) Move(ctx context.Context, o MoveOptions) (Result, error) {
	start := time.Now()
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	t, err := m.Store.GetTenant(ctx, o.Slug)
	if err != nil {
		return Result{}, err
	}
	t, unlock, err := m.lockAndReread(ctx, t.ID)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	open, err := m.Store.ListMoves(ctx, catalog.MoveFilter{TenantID: t.ID, Statuses: []string{catalog.MoveMoving}})
	if err != nil {
		return Result{}, err
	}
	if len(open) > 0 {
		mv := open[0]
		if mv.Target != o.To {
			return Result{}, validate.Invalid(&InterruptedMoveError{Slug: o.Slug, Target: mv.Target, Step: mv.Step})
		}
		if o.DryRun {
			return Result{Slug: t.Slug, ID: t.ID, From: mv.Source, To: mv.Target, Method: mv.Method, Status: "resume at " + nextStep(mv.Method, mv.Step)}, nil
		}
		m.Log.Info("resuming interrupted move", "tenant", t.Slug, "to", mv.Target, "step", mv.Step)
		return m.drive(ctx, t, mv, start)
	}
	if t.State != catalog.StateActive && t.State != catalog.StateSuspended {
		return Result{}, validate.Invalid(fmt.Errorf("tenant %q is %s: %w (a move needs an active or suspended tenant)", o.Slug, t.State, provisioner.ErrWrongState))
	}
	if t.Server == o.To {
		// Rerunning a move that switched but was interrupted after: finish it.
		done, err := m.Store.ListMoves(ctx, catalog.MoveFilter{TenantID: t.ID, Statuses: []string{catalog.MoveSwitched}})
		if err != nil {
			return Result{}, err
		}
		if n := len(done); n > 0 && done[n-1].Target == o.To && !o.DryRun {
			mv := done[n-1]
			if err := m.settleLocked(ctx, mv.ID); err != nil {
				return Result{}, err
			}
			return m.result(ctx, t, mv.ID, start)
		}
		return Result{}, validate.Invalid(fmt.Errorf("tenant %q is on %s: %w", o.Slug, o.To, ErrSameServer))
	}
	if _, err := m.Place(ctx, o.To, nil); err != nil {
		return Result{}, err
	}
	if grants, err := m.Store.ListAccessGrants(ctx, t.Slug, ""); err != nil {
		return Result{}, err
	} else if len(grants) > 0 {
		return Result{}, &GrantsHeldError{Slug: o.Slug, Grants: len(grants)}
	}
	src, err := m.Server(ctx, t.Server)
	if err != nil {
		return Result{}, err
	}
	dst, err := m.Server(ctx, o.To)
	if err != nil {
		return Result{}, err
	}
	if o.Method == MethodLogical {
		if err := m.checkLogical(ctx, src, dst, t.ID); err != nil {
			return Result{}, err
		}
	}
	if _, err := FindClient("pg_dump"); err != nil {
		return Result{}, err
	}
	if _, err := FindClient("pg_restore"); err != nil {
		return Result{}, err
	}
	if o.DryRun {
		st, err := src.Stats(ctx, t.ID, nil)
		if err != nil {
			return Result{}, err
		}
		return Result{Slug: t.Slug, ID: t.ID, From: t.Server, To: o.To, Method: o.Method, Status: "planned", SizeBytes: st.SizeBytes}, nil
	}
	// A copy of this tenant kept on the target by an earlier move is obsolete now, and
	// its database would take the name the new copy needs.
	if err := m.dropKeptCopies(ctx, t.ID, o.To); err != nil {
		return Result{}, err
	}
	mv, err := m.Store.StartMove(ctx, catalog.Move{TenantID: t.ID, Slug: t.Slug, Method: o.Method, Source: t.Server, Target: o.To, KeepSource: o.keep()})
	if err != nil {
		return Result{}, err
	}
	m.Log.Info("moving tenant", "tenant", t.Slug, "from", mv.Source, "to", mv.Target, "method", mv.Method)
	fpMoveStepRecorded[StepPlanned].Hit()
	return m.drive(ctx, t, mv, start)
}

func nextStep(method, done string) string {
	steps := stepsOf(method)
	if i := slices.Index(steps, done); i >= 0 && i+1 < len(steps) {
		return steps[i+1]
	}
	return done
}

// drive runs the move's remaining steps. Before the switch, a failure (not a crash or
// a cancellation) rolls the move back; after it, the error is returned and a rerun or
// reconcile finishes the move.
func (m *Mover) drive(ctx context.Context, t catalog.Tenant, mv catalog.Move, start time.Time) (Result, error) {
	res := Result{Slug: t.Slug, ID: t.ID, From: mv.Source, To: mv.Target, Method: mv.Method}
	err := m.steps(ctx, t, mv, &res)
	rolledBack, rerr := rollBackFailed(ctx, m, err, t.Slug, "move failed; rolling back to the source", func() (catalog.Move, bool, error) {
		cur, err := m.Store.GetMove(ctx, mv.ID)
		return cur, cur.Status == catalog.MoveMoving, err
	}, m.rollback)
	switch {
	case rerr != nil:
		return res, &provisioner.UnfinishedError{Err: fmt.Errorf("move tenant %q: %w; rolling back also failed: %w", t.Slug, err, rerr)}
	case rolledBack:
		return res, fmt.Errorf("move tenant %q to %s: %w (rolled back: the tenant stays on %s)", t.Slug, mv.Target, err, mv.Source)
	case err != nil:
		return res, fmt.Errorf("move tenant %q to %s: %w", t.Slug, mv.Target, err)
	}
	r, err := m.result(ctx, t, mv.ID, start)
	r.Tables, r.Rows = res.Tables, res.Rows
	return r, err
}

// result reads a move's outcome from the catalog.
func (m *Mover) result(ctx context.Context, t catalog.Tenant, moveID int64, start time.Time) (Result, error) {
	final, err := m.Store.GetMove(ctx, moveID)
	if err != nil {
		return Result{}, err
	}
	res := Result{Slug: t.Slug, ID: t.ID, From: final.Source, To: final.Target, Method: final.Method}
	res.Status = final.Status
	res.KeepSourceUntil = final.KeepSourceUntil
	res.Resumed = final.ResumedAt != nil
	res.Downtime, _ = downtime(final.SuspendedAt, final.ResumedAt)
	if final.Bytes != nil {
		res.Bytes = *final.Bytes
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (m *Mover) steps(ctx context.Context, t catalog.Tenant, mv catalog.Move, res *Result) error {
	src, err := m.Server(ctx, mv.Source)
	if err != nil {
		return err
	}
	dst, err := m.Server(ctx, mv.Target)
	if err != nil {
		return err
	}
	var stepStart time.Time
	run := func(step string) (catalog.MoveUpdate, bool, error) {
		stepStart = time.Now()
		u := catalog.MoveUpdate{Step: &step}
		switch step {
		case StepSuspended:
			// The app role loses LOGIN and its sessions end: from here on nobody writes
			// the source.
			if err := src.SetAppLogin(ctx, t.ID, false); err != nil {
				return u, false, err
			}
			u.Suspended = true
		case StepTargetRoles:
			pw, err := m.Store.Credential(ctx, t.ID, "app")
			if err != nil {
				return u, false, err
			}
			// The same role names and passwords as on the source (SCRAM verifiers of
			// the stored passwords), the app NOLOGIN until the switch; the owner logs in
			// (tenantctl's own login, confined to the database). A tenant whose source
			// owner does not log in yet gets its password here and keeps it; reconcile
			// converts what a killed move leaves on the source.
			if err := m.WithOwnerPassword(ctx, t.ID, func(ownerPW string) error {
				return dst.EnsureRoles(ctx, t.ID, pw, ownerPW, false)
			}); err != nil {
				return u, false, err
			}
		case StepCopying:
			// Only a marker: the copy below starts from an empty database every time.
		case StepCopied:
			if err := recreateDatabase(ctx, dst, t.ID); err != nil {
				return u, false, err
			}
			n, err := pipeDumpRestore(ctx, src, dst, t.ID)
			if err != nil {
				return u, false, err
			}
			u.Bytes = &n
		case StepHardened:
			if err := dst.Harden(ctx, t.ID); err != nil {
				return u, false, err
			}
			// The dump carries the domain functions of a source that had them; one that
			// had not (never reconciled since) gets them here.
			if err := dst.SetDomain(ctx, t.ID, t.Domain); err != nil {
				return u, false, err
			}
		case StepSubscribed, StepSynced, StepCaughtUp, StepDetached:
			if err := m.logicalStep(ctx, step, src, dst, mv); err != nil {
				return u, false, err
			}
			if step == StepSubscribed { // as for StepHardened: the schema came from a dump
				if err := dst.SetDomain(ctx, t.ID, t.Domain); err != nil {
					return u, false, err
				}
			}
		case StepVerified:
			v, err := verify(ctx, src, dst, t.ID)
			if err != nil {
				return u, false, err
			}
			res.Tables, res.Rows = len(v.Tables), v.Rows
		case StepSwitched:
			details := map[string]any{}
			if mv.Bytes != nil {
				details["bytes"] = *mv.Bytes
			}
			if err := m.Store.SwitchMove(ctx, mv, details); err != nil {
				return u, false, err
			}
			m.resyncWarehouse(ctx, t, mv)
			return u, true, nil // SwitchMove recorded the step
		case StepResumed:
			if mv.PriorState == catalog.StateActive {
				if err := dst.SetAppLogin(ctx, t.ID, true); err != nil {
					return u, false, err
				}
				fpMoveResumeLogin.Hit()
			}
			// The source copy stays, but nobody may reach it as the tenant any more, not
			// even tenantctl's owner login.
			if err := src.RevokeAccess(ctx, t.ID); err != nil {
				return u, false, err
			}
			if err := src.RevokeOwnerLogin(ctx, t.ID); err != nil {
				return u, false, err
			}
			u.Resumed = true
		}
		return u, false, nil
	}
	record := func(step string, u catalog.MoveUpdate) error {
		if err := m.Store.UpdateMove(ctx, mv.ID, u); err != nil {
			return err
		}
		if u.Bytes != nil {
			mv.Bytes = u.Bytes
		}
		m.Log.Debug("move step done", "tenant", t.Slug, "step", step, "elapsed", time.Since(stepStart).Round(time.Millisecond))
		if step != StepResumed {
			return nil
		}
		cur, err := m.Store.GetMove(ctx, mv.ID)
		if err != nil {
			return err
		}
		return m.appendResumed(ctx, "tenant.move.resumed", t.ID, t.Slug, cur.SuspendedAt, cur.ResumedAt, map[string]any{"move": mv.ID, "server": mv.Target})
	}
	if err := (stepRun[catalog.MoveUpdate]{steps: stepsOf(mv.Method), last: mv.Step, before: fpMoveStepDone, after: fpMoveStepRecorded,
		run: run, record: record}).drive(); err != nil {
		return err
	}
	cur, err := m.Store.GetMove(ctx, mv.ID)
	if err != nil {
		return err
	}
	if cur.Status == catalog.MoveSwitched && cur.KeepSourceUntil != nil && !time.Now().Before(*cur.KeepSourceUntil) {
		return m.dropSource(ctx, cur)
	}
	return nil
}

// resyncWarehouse makes the tenant's next rollup a full copy. Failing here is not
// fatal: the rollup also sees that its watermarks belong to another database.
func (m *Mover) resyncWarehouse(ctx context.Context, t catalog.Tenant, mv catalog.Move) {
	dsn, err := m.Store.WarehouseDSN(ctx)
	if errors.Is(err, catalog.ErrNoWarehouse) {
		return
	}
	if err == nil {
		err = warehouse.ResyncTenant(ctx, dsn, warehouse.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain, Server: mv.Target, State: mv.PriorState})
	}
	if err != nil {
		m.Log.Warn("could not reset the tenant's warehouse watermarks; the next rollup still copies it in full", "tenant", t.Slug, "error", secret.Scrub(err.Error()))
	}
}

// dropSource drops the source copy of a switched move and marks the move done.
func (m *Mover) dropSource(ctx context.Context, mv catalog.Move) error {
	if _, err := m.Store.GetServer(ctx, mv.Source); errors.Is(err, catalog.ErrServerNotFound) {
		m.Log.Warn("the source server was removed; its copy of the tenant is gone with it", "tenant", mv.Slug, "server", mv.Source)
		return m.Store.FinishMove(ctx, mv)
	}
	src, err := m.Server(ctx, mv.Source)
	if err != nil {
		return err
	}
	if err := dropCopy(ctx, src, mv.TenantID); err != nil {
		return err
	}
	fpMoveSourceDrop.Hit()
	m.Log.Info("source copy dropped", "tenant", mv.Slug, "server", mv.Source)
	return m.Store.FinishMove(ctx, mv)
}

// dropKeptCopies drops copies of the tenant kept on server by earlier moves.
func (m *Mover) dropKeptCopies(ctx context.Context, id, server string) error {
	kept, err := m.Store.ListMoves(ctx, catalog.MoveFilter{TenantID: id, Statuses: []string{catalog.MoveSwitched}})
	if err != nil {
		return err
	}
	for _, mv := range kept {
		if mv.Source == server {
			if err := m.dropSource(ctx, mv); err != nil {
				return err
			}
		}
	}
	return nil
}

// rollback undoes a move that did not switch: the target copy and roles are dropped,
// the source's app role gets its login back (when the tenant was active), and the
// tenant its prior state.
func (m *Mover) rollback(ctx context.Context, mv catalog.Move, reason string) error {
	ctx = context.WithoutCancel(ctx)
	if mv.Status != catalog.MoveMoving {
		return nil
	}
	if mv.Method == MethodLogical {
		// The subscription, its slots and the publication go first: a slot left on the
		// source would keep its WAL for ever, and the target database cannot be dropped
		// while a subscription lives in it.
		if err := m.dropReplication(ctx, mv); err != nil {
			return err
		}
	}
	if err := m.dropCopyOn(ctx, mv.Target, mv.TenantID); err != nil {
		return err
	}
	fpRollbackTarget.Hit()
	if mv.PriorState == catalog.StateActive && slices.Index(stepsOf(mv.Method), mv.Step) >= 0 {
		src, err := m.Server(ctx, mv.Source)
		if err != nil {
			return err
		}
		if err := src.SetAppLogin(ctx, mv.TenantID, true); err != nil {
			return err
		}
	}
	fpRollbackSource.Hit()
	return m.Store.RollBackMove(ctx, mv, reason)
}

// RollBack rolls back the tenant's interrupted move, if it has one that did not switch.
func (m *Mover) RollBack(ctx context.Context, slug string) error {
	return rollBackOpen(ctx, m, slug, "move", func(id string) ([]catalog.Move, error) {
		return m.Store.ListMoves(ctx, catalog.MoveFilter{TenantID: id, Statuses: []string{catalog.MoveMoving}})
	}, m.rollback)
}

// rollBackOpen rolls back, under the tenant's lock, its open move or restore (what):
// the first of those open lists.
func rollBackOpen[T any](ctx context.Context, m *Mover, slug, what string, open func(id string) ([]T, error), rollback func(context.Context, T, string) error) error {
	t, err := m.Store.GetTenant(ctx, slug)
	if err != nil {
		return err
	}
	unlock, err := m.lockTenant(ctx, t.ID)
	if err != nil {
		return err
	}
	defer unlock()
	ops, err := open(t.ID)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return validate.Errorf("tenant %q has no %s in progress", slug, what)
	}
	return rollback(ctx, ops[0], "rolled back by the operator")
}

// recreateDatabase gives the target an empty tenant database, dropping what an
// interrupted run left. That run's CREATE DATABASE may still be running on the server
// (a statement outlives its killed client); the two then collide on pg_database's
// unique name, and the drop is tried again once it is done.
func recreateDatabase(ctx context.Context, srv *tenantdb.Server, id string) error {
	return retryOnCode(ctx, pgerrcode.UniqueViolation, func() error {
		if err := srv.DropDatabase(ctx, id); err != nil {
			return err
		}
		return srv.CreateDatabase(ctx, id, "")
	})
}

// dropCopyOn is dropCopy on the server named server; one removed from the catalog took
// its copy with it.
func (m *Mover) dropCopyOn(ctx context.Context, server, id string) error {
	if _, err := m.Store.GetServer(ctx, server); errors.Is(err, catalog.ErrServerNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	srv, err := m.Server(ctx, server)
	if err != nil {
		return err
	}
	return dropCopy(ctx, srv, id)
}

// dropCopy drops one server's copy of a tenant: its database, then its roles. A
// killed tenantctl leaves its last statement running on the server (a CREATE DATABASE
// completes after its client is gone), so a database that appears after the drop, and
// holds the roles, is dropped again for a few seconds before giving up.
func dropCopy(ctx context.Context, srv *tenantdb.Server, id string) error {
	return retryOnCode(ctx, pgerrcode.DependentObjectsStillExist, func() error {
		if err := srv.DropDatabase(ctx, id); err != nil {
			return err
		}
		return srv.DropRoles(ctx, id)
	})
}

// retryOnCode runs fn again every 200ms, for up to 15 seconds, while it fails with the
// SQLSTATE code: the time a statement of a killed run takes to finish on the server.
func retryOnCode(ctx context.Context, code string, fn func() error) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := fn()
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != code || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
