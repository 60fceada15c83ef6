package rollup_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/rollup"
)

func TestDefaultSpecMatchesTenantSchema(t *testing.T) {
	t.Parallel()
	s := rollup.DefaultSpec()
	require.Equal(t, []string{"users", "systems", "incidents"}, s.TableNames())
	for _, table := range s.Tables {
		require.Equal(t, []string{"id"}, table.Key)
		require.Equal(t, rollup.ModeIncremental, table.Mode)
	}
	loaded, err := rollup.LoadSpec("")
	require.NoError(t, err)
	require.Equal(t, s, loaded)
}

func TestSpecParsing(t *testing.T) {
	t.Parallel()
	s, err := rollup.ParseSpec([]byte("tables:\n  - name: sales.orders\n    key: [region, id]\n    mode: full\n  - name: notes\n    key: [id]\n"))
	require.NoError(t, err)
	require.Equal(t, "sales", s.Tables[0].Schema())
	require.Equal(t, "orders", s.Tables[0].Relname())
	require.Equal(t, rollup.ModeFull, s.Tables[0].Mode)
	require.Equal(t, "public", s.Tables[1].Schema())
	require.Equal(t, rollup.ModeIncremental, s.Tables[1].Mode, "incremental is the default")

	for name, tc := range map[string]struct{ yaml, want string }{
		"not yaml":          {"tables: [", "invalid rollup spec"},
		"unknown field":     {"tables:\n  - name: a\n    key: [id]\n    colour: red\n", "field colour not found"},
		"no tables":         {"tables: []\n", "lists no tables"},
		"bad table name":    {"tables:\n  - name: a;drop\n    key: [id]\n", "invalid SQL identifier"},
		"three-part name":   {"tables:\n  - name: a.b.c\n    key: [id]\n", "use name or schema.name"},
		"no key":            {"tables:\n  - name: a\n", "needs key columns"},
		"bad key":           {"tables:\n  - name: a\n    key: [\"id x\"]\n", "invalid SQL identifier"},
		"reserved key":      {"tables:\n  - name: a\n    key: [tenant_id]\n", "reserved"},
		"bad mode":          {"tables:\n  - name: a\n    key: [id]\n    mode: sometimes\n", "use incremental or full"},
		"same landing name": {"tables:\n  - name: a.t\n    key: [id]\n  - name: b.t\n    key: [id]\n", "two tables land"},
	} {
		_, err := rollup.ParseSpec([]byte(tc.yaml))
		require.ErrorIs(t, err, validate.ErrInvalid, name)
		require.ErrorContains(t, err, tc.want, name)
	}
	_, err = rollup.LoadSpec(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, validate.ErrInvalid)
	path := filepath.Join(t.TempDir(), "spec.yaml")
	require.NoError(t, os.WriteFile(path, []byte("tables:\n  - name: users\n    key: [id]\n"), 0o600))
	s, err = rollup.LoadSpec(path)
	require.NoError(t, err)
	require.Equal(t, []string{"users"}, s.TableNames())
}
