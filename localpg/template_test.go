package localpg

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestTemplateClustersAreTheirOwn: clusters copied from the initdb template are made
// from one initdb, and each is still its own server: its own system identifier (servers
// are told apart by it), its own superuser password (the template's and the other
// copy's are refused), the settings and pg_hba.conf lines of its own options, and it
// restarts cleanly. An incomplete template is made again.
func TestTemplateClustersAreTheirOwn(t *testing.T) {
	ctx := context.Background()
	base := tempBase(t)
	tmpdir := filepath.Join(base, "tmp")
	require.NoError(t, os.Mkdir(tmpdir, 0o755))
	t.Setenv("TMPDIR", tmpdir)

	mk := func(name string, opts Options) *Cluster {
		opts.Dir, opts.Template, opts.Fast = filepath.Join(base, name), true, true
		c, err := Init(ctx, opts)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Remove(context.Background()) })
		require.NoError(t, c.StopWhenProcessExits(os.Getpid(), false))
		require.NoError(t, c.Start(ctx))
		return c
	}
	a := mk("a", Options{Settings: map[string]string{"application_name": "'from-a'"}})
	templates, err := filepath.Glob(filepath.Join(tmpdir, TemplateDirPrefix+"*[^k]"))
	require.NoError(t, err)
	require.Len(t, templates, 1, "one template, made by the first cluster: %v", templates)
	info, err := os.Stat(filepath.Join(templates[0], templateManifest))
	require.NoError(t, err)
	b := mk("b", Options{HBA: "host all nobody 127.0.0.1/32 reject"})
	again, err := os.Stat(filepath.Join(templates[0], templateManifest))
	require.NoError(t, err)
	require.Equal(t, info.ModTime(), again.ModTime(), "the second cluster copied the template rather than making it again")

	ident := func(c *Cluster) (id, app string) {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, `SELECT system_identifier::text, current_setting('application_name') FROM pg_control_system()`).Scan(&id, &app))
		return id, app
	}
	idA, appA := ident(a)
	idB, appB := ident(b)
	require.NotEqual(t, idA, idB, "each copy has its own system identifier")
	require.Equal(t, "from-a", appA)
	require.NotEqual(t, "from-a", appB)
	hba, err := os.ReadFile(filepath.Join(b.DataDir(), "pg_hba.conf"))
	require.NoError(t, err)
	require.Contains(t, string(hba), "host all nobody 127.0.0.1/32 reject")

	require.NotEqual(t, a.Password, b.Password)
	wrong := *b
	wrong.Password = a.Password
	_, err = pgx.Connect(ctx, wrong.DSN("postgres"))
	require.Error(t, err, "a's password does not open b")
	require.Error(t, err)

	// The password never reached a log.
	for _, c := range []*Cluster{a, b} {
		log, err := os.ReadFile(c.LogFile())
		require.NoError(t, err)
		require.NotContains(t, string(log), c.Password)
		require.NotContains(t, string(log), "SCRAM-SHA-256$")
	}

	require.NoError(t, b.Stop(ctx))
	require.NoError(t, b.Start(ctx))
	idB2, _ := ident(b)
	require.Equal(t, idB, idB2, "the identifier is b's for good")

	// A template missing a file (a /tmp cleaner) is made again.
	require.NoError(t, os.Remove(filepath.Join(templates[0], "data", "PG_VERSION")))
	c := mk("c", Options{})
	again, err = os.Stat(filepath.Join(templates[0], templateManifest))
	require.NoError(t, err)
	require.NotEqual(t, info.ModTime(), again.ModTime(), "the incomplete template was made again")
	idC, _ := ident(c)
	require.False(t, strings.EqualFold(idC, idA) || idC == idB)
}
