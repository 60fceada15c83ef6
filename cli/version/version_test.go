package version

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestVersionFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdVersion(cmdtest.Factory(), "v1.2.3", cmdtest.Capture(&got))))
	require.Equal(t, "v1.2.3", got.Version)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdVersion(cmdtest.Factory(), "v1", cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)

	// The run needs no catalog: it prints.
	f := cmdtest.Factory()
	var out bytes.Buffer
	f.IO.Out = &out
	require.NoError(t, cmdtest.Execute(t, NewCmdVersion(f, "v1.2.3", nil)))
	require.Equal(t, "tenantctl v1.2.3 ("+runtime.Version()+")\n", out.String())
}
