package secret

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestRotateKeyFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *RotateKeyOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRotateKey(cmdtest.Factory(), cmdtest.Capture(&got)), "--new-key-file", "new.key"))
	require.Equal(t, "new.key", got.NewKeyFile)
	for _, args := range [][]string{{}, {"x", "--new-key-file", "k"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRotateKey(cmdtest.Factory(), cmdtest.Refuse[RotateKeyOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestResetKeyFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *ResetKeyOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdResetKey(cmdtest.Factory(), cmdtest.Capture(&got)), "--new-key-file", "new.key", "--old-key-lost",
		"--server-dsn-file", "pg-a=a.dsn", "--server-dsn-file", "pg-b=b.dsn", "--warehouse-dsn-file", "w.dsn"))
	require.Equal(t, ResetKeyOptions{Factory: got.Factory, NewKeyFile: "new.key", OldKeyLost: true,
		ServerDSNFiles: []string{"pg-a=a.dsn", "pg-b=b.dsn"}, WarehouseDSNFile: "w.dsn"}, *got)
	for _, args := range [][]string{{"--new-key-file", "new.key"}, {"--old-key-lost"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdResetKey(cmdtest.Factory(), cmdtest.Refuse[ResetKeyOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestKeyIDFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *KeyIDOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdKeyID(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Empty(t, got.KeyFile)
	require.NoError(t, cmdtest.Execute(t, NewCmdKeyID(cmdtest.Factory(), cmdtest.Capture(&got)), "--key-file", "old.key"))
	require.Equal(t, "old.key", got.KeyFile)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdKeyID(cmdtest.Factory(), cmdtest.Refuse[KeyIDOptions](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdSecretGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"key-id", "reset-key", "rotate-key"}, cmdtest.Names(NewCmdSecret(cmdtest.Factory())))
}
