package tenant

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
)

func TestCreateFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *CreateOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdCreate(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--name", "Acme", "--domain", "acme.example",
		"--server", "pg-a", "--label", "zone=eu1", "--contact-email", "ops@acme.example", "--no-template"))
	require.Equal(t, provisioner.CreateOptions{Slug: "acme", Name: "Acme", Domain: "acme.example", Server: "pg-a", Labels: []string{"zone=eu1"},
		ContactEmail: "ops@acme.example", SlowPath: true}, got.Create)
	require.Empty(t, got.FromFile)

	require.NoError(t, cmdtest.Execute(t, NewCmdCreate(cmdtest.Factory(), cmdtest.Capture(&got)), "hooli", "--name", "Hooli", "--domain", "hooli.example",
		"--from-dump", "hooli.dump", "--baseline", "3"))
	require.Equal(t, "hooli.dump", got.FromDump)
	require.Equal(t, int64(3), got.Baseline)
	require.True(t, got.SetBaseline)

	require.NoError(t, cmdtest.Execute(t, NewCmdCreate(cmdtest.Factory(), cmdtest.Capture(&got)), "--from-file", "tenants.csv", "--concurrency", "8"))
	require.Equal(t, "tenants.csv", got.FromFile)
	require.Equal(t, 8, got.Concurrency)

	for _, args := range [][]string{
		{"acme", "--domain", "acme.example"},                 // no name: the library's check
		{"Bad Slug", "--name", "A", "--domain", "a.example"}, // the library's slug rule
		{"--from-file", "t.csv", "--name", "A"},              // one tenant's flag with a file
		{"--from-file", "t.csv", "--concurrency", "0"},
		{"--from-file", "t.csv", "acme"},
		{},
	} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdCreate(cmdtest.Factory(), cmdtest.Refuse[CreateOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestListFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *ListOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, catalog.TenantFilter{}, got.Filter)
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&got)), "--state", "deleting", "--server", "pg-a"))
	require.Equal(t, catalog.TenantFilter{States: []string{"deleting"}, Server: "pg-a"}, got.Filter)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[ListOptions](t)), "x"), validate.ErrInvalid)
}

func TestSlugCommandsFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *SlugOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdShow(cmdtest.Factory(), cmdtest.Capture(&got)), "acme"))
	require.Equal(t, "acme", got.Slug)
	require.NoError(t, cmdtest.Execute(t, NewCmdDSN(cmdtest.Factory(), cmdtest.Capture(&got)), "globex"))
	require.Equal(t, "globex", got.Slug)
	for _, v := range simpleCommands {
		require.NoError(t, cmdtest.Execute(t, NewCmdSimple(cmdtest.Factory(), v.use, v.short, v.example, cmdtest.Capture(&got)), "acme"))
		require.Equal(t, SlugOptions{Factory: got.Factory, Action: v.use, Slug: "acme"}, *got)
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdSimple(cmdtest.Factory(), v.use, v.short, v.example, cmdtest.Refuse[SlugOptions](t))), validate.ErrInvalid)
	}
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdShow(cmdtest.Factory(), cmdtest.Refuse[SlugOptions](t)), "a", "b"), validate.ErrInvalid)
}

func TestDeleteAndPurgeFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var del *DeleteOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdDelete(cmdtest.Factory(), cmdtest.Capture(&del)), "acme", "--confirm", "acme", "--purge", "--dry-run"))
	require.Equal(t, provisioner.DeleteOptions{Slug: "acme", Confirm: "acme", Purge: true}, del.Delete)
	require.True(t, del.DryRun)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdDelete(cmdtest.Factory(), cmdtest.Refuse[DeleteOptions](t)), "acme", "--confirm", "other"), validate.ErrInvalid)

	var got *PurgeOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdPurge(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--confirm", "acme"))
	require.Equal(t, PurgeOptions{Factory: got.Factory, Slug: "acme", Confirm: "acme", Retention: provisioner.DefaultRetention}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdPurge(cmdtest.Factory(), cmdtest.Capture(&got)), "--expired", "--retention", "720h", "--yes", "--dry-run"))
	require.Equal(t, PurgeOptions{Factory: got.Factory, Expired: true, Retention: 720 * time.Hour, Yes: true, DryRun: true}, *got)
	for _, args := range [][]string{{"acme"}, {"acme", "--confirm", "x"}, {"--expired", "acme"}, {}, {"--expired", "--retention", "-1h"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdPurge(cmdtest.Factory(), cmdtest.Refuse[PurgeOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestMoveAndExportFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *MoveOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdMove(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--to", "pg-b", "--method", "logical", "--keep-source", "0", "--dry-run"))
	zero := time.Duration(0)
	require.Equal(t, mover.MoveOptions{Slug: "acme", To: "pg-b", Method: "logical", KeepSource: &zero, DryRun: true}, got.Move)
	require.NoError(t, cmdtest.Execute(t, NewCmdMove(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--rollback"))
	require.True(t, got.Rollback)
	for _, args := range [][]string{{"acme"}, {"acme", "--to", "pg-b", "--keep-source", "soon"}, {"acme", "--to", "pg-b", "--method", "rsync"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdMove(cmdtest.Factory(), cmdtest.Refuse[MoveOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}

	var exp *ExportOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdExport(cmdtest.Factory(), cmdtest.Capture(&exp)), "acme", "--out", "acme.dump"))
	require.Equal(t, mover.ExportOptions{Slug: "acme", Out: "acme.dump"}, exp.Export)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdExport(cmdtest.Factory(), cmdtest.Refuse[ExportOptions](t)), "acme"), validate.ErrInvalid)
}

func TestNewCmdTenantGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"cancel-delete", "create", "delete", "dsn", "export", "list", "move", "purge", "resume", "rotate-credentials", "show", "suspend"}, cmdtest.Names(NewCmdTenant(cmdtest.Factory())))
}
