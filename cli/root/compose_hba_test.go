package root

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestComposeServersAreConfined checks that the tenant servers of docker-compose.yml
// install the lines `tenantctl server hba` prints for their admin role.
func TestComposeServersAreConfined(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile("../../deploy/compose/server-hba.sh")
	require.NoError(t, err)
	require.Contains(t, string(script), tenantdb.HBALines("tenantctl_admin", ""))
	init, err := os.ReadFile("../../deploy/compose/server-init.sql")
	require.NoError(t, err)
	require.Contains(t, string(init), "ROLE tenantctl_admin")
	require.Contains(t, string(init), tenantdb.HBAGrantSQL("tenantctl_admin"), "the audit reads pg_hba_file_rules")
	compose, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(compose), "./deploy/compose/server-hba.sh:/docker-entrypoint-initdb.d/20-hba.sh:ro"))
	require.Equal(t, 2, strings.Count(string(compose), `POSTGRES_INITDB_ARGS: "--auth-local=scram-sha-256 --auth-host=scram-sha-256"`), "no trust lines from initdb")
}
