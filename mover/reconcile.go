package mover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// Reconcile action kinds added by this package.
const (
	ActRollBackMove   = "roll-back-move"
	ActFinishMove     = "finish-move"
	ActDropSource     = "drop-moved-source"
	ActRollBackImport = "roll-back-import"
	ActMoveBusy       = "move-in-progress"

	ActRollBackRestore = "roll-back-restore"
	ActFinishRestore   = "finish-restore"
	ActDropKept        = "drop-restore-kept-copy"
)

// Reconcile settles interrupted moves and imports: a move that did not switch is rolled
// back to its source (the customer gets its database back at once); a switched move is
// finished (the target resumed); a source copy whose retention ended is dropped; an
// interrupted import is undone (rerunning the import starts it again). A move another
// process is driving right now is only reported. It is a [provisioner.Repair]: the
// reconcile job passes it in [provisioner.ReconcileOptions.Repairs].
func (m *Mover) Reconcile(ctx context.Context, dryRun bool) ([]provisioner.Action, error) {
	moves, err := m.Store.ListMoves(ctx, catalog.MoveFilter{Statuses: []string{catalog.MoveMoving, catalog.MoveSwitched}})
	if err != nil {
		return nil, err
	}
	r := repairs{dryRun: dryRun}
	for _, mv := range moves {
		var a provisioner.Action
		switch {
		case mv.Status == catalog.MoveMoving:
			a = provisioner.Action{Kind: ActRollBackMove, Tenant: mv.Slug, Server: mv.Target,
				Detail: fmt.Sprintf("move to %s was interrupted after step %s: rolling back to %s", mv.Target, mv.Step, mv.Source)}
		case mv.ResumedAt == nil:
			a = provisioner.Action{Kind: ActFinishMove, Tenant: mv.Slug, Server: mv.Target,
				Detail: fmt.Sprintf("move to %s switched but was interrupted before the tenant resumed: finishing it", mv.Target)}
		case mv.KeepSourceUntil != nil && !time.Now().Before(*mv.KeepSourceUntil):
			a = provisioner.Action{Kind: ActDropSource, Tenant: mv.Slug, Server: mv.Source,
				Detail: fmt.Sprintf("the copy kept on %s after the move to %s expired at %s: dropping it", mv.Source, mv.Target, mv.KeepSourceUntil.UTC().Format(time.RFC3339))}
		default:
			continue
		}
		r.do(a, busyDriving, fpMoveSettled, func() error { return m.settle(ctx, mv) })
	}
	if err := m.reconcileRestores(ctx, &r); err != nil {
		r.errs = append(r.errs, err)
	}
	if err := m.reconcileImports(ctx, &r); err != nil {
		r.errs = append(r.errs, err)
	}
	return r.actions, errors.Join(r.errs...)
}

// busyDriving is the detail of an action left to the process that drives its tenant.
const busyDriving = "another tenantctl process is driving this tenant right now; left alone"

// repairs collects reconcile's actions and the errors of the fixes that failed.
type repairs struct {
	dryRun  bool
	actions []provisioner.Action
	errs    []error
}

// do records a, applying fix first unless it is a dry run: a tenant another process
// holds ([provisioner.ErrBusy]) is left alone with the detail busy; settled (when not
// nil) is hit after a fix applied.
func (r *repairs) do(a provisioner.Action, busy string, settled *fault.Point, fix func() error) {
	if !r.dryRun {
		switch err := fix(); {
		case errors.Is(err, provisioner.ErrBusy):
			a.Kind, a.Detail = ActMoveBusy, busy
		case err != nil:
			a.Error = secret.Scrub(err.Error())
			r.errs = append(r.errs, fmt.Errorf("%s %s: %w", a.Kind, a.Tenant, err))
		default:
			a.Applied = true
			hit(settled)
		}
	}
	r.actions = append(r.actions, a)
}

// settle takes the tenant's lock and rolls back, finishes or cleans up one move, as it
// stands once the lock is held.
func (m *Mover) settle(ctx context.Context, mv catalog.Move) error {
	unlock, err := m.lockTenant(ctx, mv.TenantID)
	if err != nil {
		return err
	}
	defer unlock()
	return m.settleLocked(ctx, mv.ID)
}

// settleLocked is settle with the tenant's lock held.
func (m *Mover) settleLocked(ctx context.Context, moveID int64) error {
	cur, err := m.Store.GetMove(ctx, moveID)
	if err != nil {
		return err
	}
	switch {
	case cur.Status == catalog.MoveMoving:
		return m.rollback(ctx, cur, "interrupted; rolled back by reconcile")
	case cur.Status == catalog.MoveSwitched && cur.ResumedAt == nil:
		t, err := m.Store.GetTenantByID(ctx, cur.TenantID)
		if err != nil {
			return err
		}
		_, err = m.drive(ctx, t, cur, time.Now())
		return err
	case cur.Status == catalog.MoveSwitched && cur.KeepSourceUntil != nil && !time.Now().Before(*cur.KeepSourceUntil):
		return m.dropSource(ctx, cur)
	}
	return nil
}
