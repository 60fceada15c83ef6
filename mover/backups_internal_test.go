package mover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseKeep(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1d": 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "1s": time.Second} {
		got, err := ParseKeep(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0d", "-1d", "0", "-5h", "d", "14days", "1.5d"} {
		_, err := ParseKeep(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "invalid --keep")
	}
}
