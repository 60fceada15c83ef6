package version

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	require.NotEmpty(t, String(), "a test binary has no stamp: it falls back to build info")
	old := stamped
	t.Cleanup(func() { stamped = old })
	stamped = "v1.2.3"
	require.Equal(t, "v1.2.3", String())
	require.Contains(t, Go(), "go")
}
