package demo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestDemoFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdDemo(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: got.Factory, Servers: 2}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdDemo(cmdtest.Factory(), cmdtest.Capture(&got)), "--dir", "/var/tmp/t", "--servers", "3"))
	require.Equal(t, Options{Factory: got.Factory, Dir: "/var/tmp/t", Servers: 3, SetDir: true, SetServers: true}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdDemo(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
}
