package provisioner

import "context"

// warmWarehouse starts the warehouse login in the background (when a warehouse is
// registered and not yet connected), so the warehouse step of a create finds it made:
// it overlaps the clone instead of following it. A failure is left for the step, which
// logs it.
func (p *Provisioner) warmWarehouse(ctx context.Context) {
	_, wh := p.caches()
	wh.Warm(ctx)
}
