package config

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestConfigFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdUseContext(cmdtest.Factory(), cmdtest.Capture(&got)), "prod"))
	require.Equal(t, "prod", got.Context)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdUseContext(cmdtest.Factory(), cmdtest.Refuse[Options](t))), validate.ErrInvalid)

	// TENANTCTL_CONTEXT picks the context when --context is not given.
	f := cmdtest.Factory()
	f.Getenv = func(k string) string { return map[string]string{"TENANTCTL_CONTEXT": "staging"}[k] }
	require.NoError(t, cmdtest.Execute(t, NewCmdGetContexts(f, cmdtest.Capture(&got))))
	require.Equal(t, "staging", got.Context)
	require.NoError(t, cmdtest.Execute(t, NewCmdCurrentContext(f, cmdtest.Capture(&got))))
	require.Equal(t, "staging", got.Context)
	require.NoError(t, cmdtest.Execute(t, NewCmdCurrentContext(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Empty(t, got.Context)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdGetContexts(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdConfigGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"current-context", "get-contexts", "use-context"}, cmdtest.Names(NewCmdConfig(cmdtest.Factory())))
}
