package pghba

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLines(t *testing.T) {
	t.Parallel()
	var rows [][]string
	for _, l := range strings.Split(Lines("tenantctl_admin", ""), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			rows = append(rows, strings.Fields(l))
		}
	}
	require.Equal(t, [][]string{
		{"local", "all", "tenantctl_admin", "scram-sha-256"},
		{"host", "all", "tenantctl_admin", "all", "scram-sha-256"},
		{"local", "samerole", "+tenantctl_logins", "scram-sha-256"},
		{"host", "samerole", "+tenantctl_logins", "all", "scram-sha-256"},
		{"local", "all", "+tenantctl_logins", "reject"},
		{"host", "all", "+tenantctl_logins", "all", "reject"},
	}, rows, "the admin first, then samerole, then reject: the first matching line wins")
	// A role name pg_hba.conf would misread is double-quoted.
	require.Contains(t, Lines(`Admin "x"`, "cert"), `"Admin ""x"""`)
}
