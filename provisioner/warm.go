package provisioner

import (
	"context"
	"errors"
)

// warmWarehouse starts the warehouse login in the background (when a warehouse is
// registered and not yet connected), so the warehouse step of a create finds it made:
// it overlaps the clone instead of following it. A failure is left for the step, which
// logs it.
func (p *Provisioner) warmWarehouse(ctx context.Context) {
	if !p.whMu.TryLock() {
		return // connecting already
	}
	done := p.warehouse != nil
	p.whMu.Unlock()
	if done {
		return
	}
	go func() { _, _ = p.warehousePool(ctx) }()
}

// errClosed is returned by a provisioner used after Close.
var errClosed = errors.New("provisioner closed")
