package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestJobsFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdJobs(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, 20, got.Limit)
	require.NoError(t, cmdtest.Execute(t, NewCmdJobs(cmdtest.Factory(), cmdtest.Capture(&got)), "--limit", "50"))
	require.Equal(t, 50, got.Limit)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdJobs(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
}
