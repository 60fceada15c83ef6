package mover

import (
	"context"

	"github.com/tenantctl/tenantctl/provisioner"
)

func (m *Mover) reconcileImports(ctx context.Context, dryRun bool) ([]provisioner.Action, error) {
	return nil, nil
}
