package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPickSet: the newest backup whose recorded end (whole seconds) is a full second
// before the target; none when every backup may have ended after it.
func TestPickSet(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	backups := []Backup{
		{Label: "full", Stop: at("2026-12-01T10:00:00Z")},
		{Label: "incr", Stop: at("2026-12-01T12:00:10Z")},
	}
	require.Equal(t, "incr", pickSet(backups, at("2026-12-01T12:00:11Z")))
	require.Equal(t, "incr", pickSet(backups, at("2026-12-01T13:00:00Z")))
	require.Equal(t, "full", pickSet(backups, at("2026-12-01T12:00:10.8Z")), "the incr may have ended after 12:00:10.8")
	require.Equal(t, "full", pickSet(backups, at("2026-12-01T11:00:00Z")))
	require.Equal(t, "", pickSet(backups, at("2026-12-01T10:00:00.5Z")))
}
