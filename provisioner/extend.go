package provisioner

import (
	"context"
	"sync"
)

// Reconciler finishes or undoes another package's interrupted work (moves, imports)
// as part of [Provisioner.Reconcile]. It returns what it found, like Reconcile.
type Reconciler func(ctx context.Context, p *Provisioner, dryRun bool) ([]Action, error)

var (
	reconcilersMu sync.Mutex
	reconcilers   []Reconciler
)

// RegisterReconciler adds r to every later Reconcile, which runs it before its own
// checks (so that tenants it settles are checked where they end up). Packages register
// from init.
func RegisterReconciler(r Reconciler) {
	reconcilersMu.Lock()
	defer reconcilersMu.Unlock()
	reconcilers = append(reconcilers, r)
}

func (p *Provisioner) runReconcilers(ctx context.Context, dryRun bool) ([]Action, []error) {
	reconcilersMu.Lock()
	rs := append([]Reconciler(nil), reconcilers...)
	reconcilersMu.Unlock()
	var actions []Action
	var errs []error
	for _, r := range rs {
		a, err := r(ctx, p, dryRun)
		actions = append(actions, a...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return actions, errs
}
