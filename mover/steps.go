package mover

import (
	"context"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/secret"
)

// stepRun drives the steps of a move or of an in-place restore that come after the
// last one recorded, in order. Each step does its work (run), then is recorded with the
// update run returned (record), unless run recorded it itself (the switch, which the
// catalog records with the tenant's new home in one transaction). A step that changes a
// server has a kill point before its record; every step has one after it. A run killed
// anywhere is finished by driving again from the last step recorded.
type stepRun[U any] struct {
	steps []string
	// last is the last step recorded.
	last string
	// before and after are the step's kill points (before-record, after-record).
	before, after map[string]*fault.Point
	run           func(step string) (u U, recorded bool, err error)
	record        func(step string, u U) error
}

func (r stepRun[U]) drive() error {
	for _, step := range r.steps[slices.Index(r.steps, r.last)+1:] {
		u, recorded, err := r.run(step)
		if err != nil {
			return err
		}
		if !recorded {
			hit(r.before[step])
			if err := r.record(step, u); err != nil {
				return err
			}
		}
		r.after[step].Hit()
	}
	return nil
}

// rollBackFailed is the rule for a move or an in-place restore whose steps failed with
// err: one still open when read again (reread; not switched) is rolled back, logged with
// warn; one that switched is left for a rerun or reconcile to finish, and so is one whose
// run was cancelled (or is being killed). rolledBack says it was rolled back; rerr is
// the rollback's own failure.
func rollBackFailed[T any](ctx context.Context, m *Mover, err error, slug, warn string, reread func() (T, bool, error), rollback func(context.Context, T, string) error) (rolledBack bool, rerr error) {
	if err == nil || ctx.Err() != nil {
		return false, nil
	}
	cur, open, gerr := reread()
	if gerr != nil || !open {
		return false, nil
	}
	msg := secret.Scrub(err.Error())
	m.Log.Warn(warn, "tenant", slug, "error", msg)
	if err := rollback(ctx, cur, msg); err != nil {
		return false, err
	}
	return true, nil
}

// downtime is how long a tenant could not write: from its suspension to its resume,
// when both are recorded.
func downtime(suspended, resumed *time.Time) (time.Duration, bool) {
	if suspended == nil || resumed == nil {
		return 0, false
	}
	return resumed.Sub(*suspended), true
}

// appendResumed writes the event of a tenant resumed after a move or a restore
// (action), its details d with the downtime the catalog measured.
func (m *Mover) appendResumed(ctx context.Context, action, id, slug string, suspended, resumed *time.Time, d map[string]any) error {
	if dt, ok := downtime(suspended, resumed); ok {
		d["downtime_ms"] = dt.Milliseconds()
	}
	return m.Store.AppendEvent(ctx, nil, catalog.Event{Action: action, TenantID: id, Slug: slug, Details: d})
}

// tally is the number of tables and the rows they hold, from a copy's checksums.
func tally(sums []TableSum) (int, int64) {
	var rows int64
	for _, s := range sums {
		rows += s.Rows
	}
	return len(sums), rows
}
