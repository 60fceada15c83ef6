package dev

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestDevFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdUp(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: got.Factory, Dir: devenv.DefaultDir, Servers: 2}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdUp(cmdtest.Factory(), cmdtest.Capture(&got)), "--servers", "3", "--dir", "/var/tmp/t"))
	require.Equal(t, Options{Factory: got.Factory, Dir: "/var/tmp/t", Servers: 3}, *got)

	// Without --dir, the config file's dev_dir.
	f := cmdtest.Factory()
	f.File = config.File{Settings: config.Settings{DevDir: "/srv/dev"}}
	require.NoError(t, cmdtest.Execute(t, NewCmdDown(f, cmdtest.Capture(&got)), "--purge"))
	require.Equal(t, Options{Factory: f, Dir: "/srv/dev", Purge: true}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(f, cmdtest.Capture(&got)), "--dir", "/x"))
	require.Equal(t, Options{Factory: f, Dir: "/x"}, *got)

	for _, c := range []func() error{
		func() error { return cmdtest.Execute(t, NewCmdUp(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x") },
		func() error {
			return cmdtest.Execute(t, NewCmdDown(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x")
		},
		func() error {
			return cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x")
		},
	} {
		require.ErrorIs(t, c(), validate.ErrInvalid)
	}
}

func TestNewCmdDevGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"down", "status", "up"}, cmdtest.Names(NewCmdDev(cmdtest.Factory())))
}
