package tenantdb

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// A DSN handed to a customer keeps the admin DSN's connection settings but never
// tenantctl's own parameters, which libpq (psql, most drivers) would refuse.
func TestDSNForLeavesOutTenantctlParameters(t *testing.T) {
	t.Parallel()
	s, err := NewServer("pg-a", "postgres://admin:pw@db1.example:5432/postgres?sslmode=require&liveness_interval=5s&liveness_timeout=2s&statement_grace=10s&connect_timeout=4", 150000, "")
	require.NoError(t, err)
	dsn := s.DSNFor("t_app", "secret", "t_x")
	for _, p := range dbconn.ClientParams {
		require.NotContains(t, dsn, p)
	}
	require.True(t, strings.Contains(dsn, "sslmode=require") && strings.Contains(dsn, "connect_timeout=4"), dsn)
}
