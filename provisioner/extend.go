package provisioner

import "context"

// Repair finishes or undoes another package's interrupted work (moves, imports) as part
// of [Provisioner.Reconcile]; it returns what it found, like Reconcile. The caller hands
// the repairs to Reconcile in [ReconcileOptions.Repairs] (jobs.Reconcile passes the
// mover's): no package plugs itself in behind the caller's back.
type Repair func(ctx context.Context, dryRun bool) ([]Action, error)

// runRepairs runs the injected repairs in order, before reconcile's own checks (so that
// tenants they settle are checked where they end up).
func runRepairs(ctx context.Context, repairs []Repair, dryRun bool) ([]Action, []error) {
	var actions []Action
	var errs []error
	for _, r := range repairs {
		a, err := r(ctx, dryRun)
		actions = append(actions, a...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return actions, errs
}
