package reconcile

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func TestReconcileFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdReconcile(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, provisioner.ReconcileOptions{}, got.Reconcile)
	require.NoError(t, cmdtest.Execute(t, NewCmdReconcile(cmdtest.Factory(), cmdtest.Capture(&got)), "--dry-run"))
	require.Equal(t, provisioner.ReconcileOptions{DryRun: true}, got.Reconcile)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdReconcile(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
}
