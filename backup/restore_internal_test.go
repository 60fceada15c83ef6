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

// TestInvalidPages: invalid pages reported in a zeroed database are accepted; in the
// restored database (or the shared catalogs) they are not.
func TestInvalidPages(t *testing.T) {
	t.Parallel()
	log := `2026-12-07 12:21:34.850 UTC [21868] LOG:  consistent recovery state reached at 0/5000138
2026-12-07 12:21:34.851 UTC [21868] WARNING:  page 0 of relation base/16460/16413 is uninitialized
2026-12-07 12:21:34.851 UTC [21868] CONTEXT:  WAL redo at 0/6000028 for Heap2/VISIBLE: cutoff xid 752 flags 0x01; blkref #0: rel 1663/16460/16413, fork 2, blk 0 FPW; blkref #1: rel 1663/16460/16413, blk 0
2026-12-07 12:21:34.851 UTC [21868] WARNING:  WAL contains references to invalid pages
2026-12-07 12:21:34.852 UTC [21868] WARNING:  page 7 of relation base/16461/2619 does not exist
`
	lines := invalidPageLines(log)
	require.Len(t, lines, 2)
	require.Empty(t, invalidPagesIn(lines, []string{"16462", "5", "1", "4"}), "16460 and 16461 are zeroed neighbours")
	bad := invalidPagesIn(lines, []string{"16461", "5", "1", "4"})
	require.Len(t, bad, 1)
	require.Contains(t, bad[0], "base/16461/2619")
	require.Len(t, invalidPagesIn([]string{"WARNING:  page 1 of relation global/1262 is uninitialized"}, nil), 1)
}

// TestRestoreHostLocation: a restore host's settings are checked without contacting it,
// and a scratch location names the host, the directory and how to reach it, so a rerun
// or reconcile finds the instance whatever is configured by then.
func TestRestoreHostLocation(t *testing.T) {
	t.Parallel()
	h := RestoreHost{Dest: "postgres@restore1.internal", SSHConfig: "/etc/tenantctl/ssh_config", BinDir: "/usr/lib/postgresql/15/bin"}
	require.NoError(t, h.Validate())
	loc, err := h.Location("/var/tmp/tenantctl-restore/restore-abc")
	require.NoError(t, err)
	require.True(t, IsRemote(loc))
	r, err := parseRemote(loc)
	require.NoError(t, err)
	require.Equal(t, remote{dest: "ssh://postgres@restore1.internal", sshConfig: "/etc/tenantctl/ssh_config",
		binDir: "/usr/lib/postgresql/15/bin", dir: "/var/tmp/tenantctl-restore/restore-abc"}, r)
	require.False(t, IsRemote("/var/tmp/tenantctl-restore/restore-abc"))

	loc, err = RestoreHost{Dest: "ssh://backup@10.0.0.7:2222", BinDir: "/opt/pg/bin"}.Location("/scratch/x")
	require.NoError(t, err)
	r, err = parseRemote(loc)
	require.NoError(t, err)
	require.Equal(t, "ssh://backup@10.0.0.7:2222", r.dest)
	require.Equal(t, "/scratch/x", r.dir)

	for _, bad := range []RestoreHost{{Dest: ""}, {Dest: "-oProxyCommand=x"}, {Dest: "ssh://u:pw@h"}, {Dest: "h/x"},
		{Dest: "h", SSHConfig: "rel/ssh_config"}, {Dest: "h", BinDir: "bin"}} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
	_, err = h.Location("relative")
	require.Error(t, err)
	require.Equal(t, `'it'\''s'`, shellQuote("it's"))
}
