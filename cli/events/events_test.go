package events

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestEventsFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdEvents(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: got.Factory, Limit: 50}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdEvents(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--limit", "5"))
	require.Equal(t, Options{Factory: got.Factory, Tenant: "acme", Limit: 5}, *got)
	for _, args := range [][]string{{"--tenant", "Not A Slug"}, {"x"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdEvents(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
}
