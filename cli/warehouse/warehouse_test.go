package warehouse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestWarehouseFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var ini *InitOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdInit(cmdtest.Factory(), cmdtest.Capture(&ini)), "--dsn", "-"))
	require.Equal(t, InitOptions{Factory: ini.Factory, DSN: "-"}, *ini)
	require.NoError(t, cmdtest.Execute(t, NewCmdInit(cmdtest.Factory(), cmdtest.Capture(&ini)), "--dsn-file", "w.dsn"))
	require.Equal(t, InitOptions{Factory: ini.Factory, DSNFile: "w.dsn"}, *ini)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdInit(cmdtest.Factory(), cmdtest.Refuse[InitOptions](t)), "x"), validate.ErrInvalid)

	var dsn *DSNOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdDSN(cmdtest.Factory(), cmdtest.Capture(&dsn))))
	require.NotNil(t, dsn)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdDSN(cmdtest.Factory(), cmdtest.Refuse[DSNOptions](t)), "x"), validate.ErrInvalid)

	var set *SetOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Capture(&set)), "--dsn-stdin"))
	require.Equal(t, SetOptions{Factory: set.Factory, DSNStdin: true}, *set)
	require.NoError(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Capture(&set)), "--dsn-file", "w.dsn"))
	require.Equal(t, SetOptions{Factory: set.Factory, DSNFile: "w.dsn"}, *set)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Refuse[SetOptions](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdWarehouseGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"dsn", "init", "set"}, cmdtest.Names(NewCmdWarehouse(cmdtest.Factory())))
}
