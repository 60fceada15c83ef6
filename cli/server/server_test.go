package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
)

func TestAddFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *AddOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdAdd(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--dsn", "-"))
	require.Equal(t, provisioner.AddServerOptions{Name: "pg-a", DSN: "-", Capacity: 1000, CloneStrategy: "file_copy"}, got.Add)
	require.NoError(t, cmdtest.Execute(t, NewCmdAdd(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-b", "--dsn-file", "f.dsn",
		"--capacity", "5", "--label", "zone=a", "--label", "ssd=1", "--spares", "2", "--clone-strategy", "wal_log"))
	require.Equal(t, provisioner.AddServerOptions{Name: "pg-b", Capacity: 5, Labels: []string{"zone=a", "ssd=1"}, Spares: 2, CloneStrategy: "wal_log"}, got.Add)
	require.Equal(t, "f.dsn", got.DSNFile)
	for _, args := range [][]string{{}, {"a", "b"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdAdd(cmdtest.Factory(), cmdtest.Refuse[AddOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestListAndSimpleFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var list *ListOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&list))))
	require.NotNil(t, list)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[ListOptions](t)), "x"), validate.ErrInvalid)
	for _, v := range simpleCommands {
		var got *SimpleOptions
		require.NoError(t, cmdtest.Execute(t, NewCmdSimple(cmdtest.Factory(), v.use, v.short, v.example, cmdtest.Capture(&got)), "pg-a"))
		require.Equal(t, v.use, got.Action)
		require.Equal(t, "pg-a", got.Name)
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdSimple(cmdtest.Factory(), v.use, v.short, v.example, cmdtest.Refuse[SimpleOptions](t))), validate.ErrInvalid)
	}
}

func TestSetFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *SetOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--spares", "0"))
	require.True(t, got.SetSpares)
	require.False(t, got.SetRegistration || got.SetAllowed || got.SetCapacity)

	require.NoError(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--dsn-stdin", "--capacity", "7",
		"--label", "zone=b", "--label", "ssd-", "--allow-database", "reporting", "--disallow-database", "old"))
	require.Equal(t, "pg-a", got.Name)
	require.True(t, got.DSNStdin && got.SetRegistration && got.SetCapacity && got.SetAllowed)
	require.False(t, got.SetSpares)
	require.Equal(t, 7, got.Capacity)
	require.Equal(t, []string{"zone=b", "ssd-"}, got.Labels)
	require.Equal(t, []string{"reporting"}, got.Allow)
	require.Equal(t, []string{"old"}, got.Disallow)

	for _, args := range [][]string{{"pg-a"}, {"pg-a", "--spares", "-1"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdSet(cmdtest.Factory(), cmdtest.Refuse[SetOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestRefillFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *RefillOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRefill(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, "", got.Name)
	require.False(t, got.DryRun)
	require.NoError(t, cmdtest.Execute(t, NewCmdRefill(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--dry-run"))
	require.Equal(t, "pg-a", got.Name)
	require.True(t, got.DryRun)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdRefill(cmdtest.Factory(), cmdtest.Refuse[RefillOptions](t)), "Bad Name"), validate.ErrInvalid)
}

func TestHBAFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *HBAOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdHBA(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a"))
	require.Equal(t, HBAOptions{Factory: got.Factory, Name: "pg-a", AdminMethod: "scram-sha-256"}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdHBA(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--check", "--admin-method", "md5"))
	require.Equal(t, HBAOptions{Factory: got.Factory, Name: "pg-a", Check: true, AdminMethod: "md5", SetAdminMethod: true}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdHBA(cmdtest.Factory(), cmdtest.Refuse[HBAOptions](t)), "pg-a", "--admin-method", "nope"), validate.ErrInvalid)
}

func TestEvacuateFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *EvacuateOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdEvacuate(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-old"))
	// The library's Validate fills in its defaults: PerServer, and a logger.
	got.Evacuate.Log = nil
	require.Equal(t, mover.EvacuateOptions{Server: "pg-old", Options: fleet.Options{Concurrency: 2, PerServer: 2}}, got.Evacuate)
	require.NoError(t, cmdtest.Execute(t, NewCmdEvacuate(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-old", "--to", "pg-a", "--to", "pg-b",
		"--concurrency", "4", "--keep-source", "0", "--dry-run"))
	zero := time.Duration(0)
	got.Evacuate.Log = nil
	require.Equal(t, mover.EvacuateOptions{Server: "pg-old", To: []string{"pg-a", "pg-b"}, Options: fleet.Options{Concurrency: 4, PerServer: 4}, KeepSource: &zero, DryRun: true}, got.Evacuate)
	for _, args := range [][]string{{"pg-old", "--keep-source", "soon"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdEvacuate(cmdtest.Factory(), cmdtest.Refuse[EvacuateOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestNewCmdServerGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"add", "drain", "evacuate", "hba", "list", "refill", "remove", "set", "undrain"}, cmdtest.Names(NewCmdServer(cmdtest.Factory())))
}
