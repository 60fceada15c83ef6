package catalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestCatalogFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	f := cmdtest.Factory()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdInit(f, cmdtest.Capture(&got))))
	require.Same(t, f, got.Factory)
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(f, cmdtest.Capture(&got))))
	require.Same(t, f, got.Factory)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdInit(f, cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdStatus(f, cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdCatalogGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"init", "status"}, cmdtest.Names(NewCmdCatalog(cmdtest.Factory())))
}
