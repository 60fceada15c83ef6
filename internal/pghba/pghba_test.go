package pghba

import (
	"slices"
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
		{"local", "replication,tenantctl_logins,tenantctl_template_owner,tenantctl_admin", "+tenantctl_logins", "reject"},
		{"host", "replication,tenantctl_logins,tenantctl_template_owner,tenantctl_admin", "+tenantctl_logins", "all", "reject"},
		{"local", "samerole", "+tenantctl_logins", "scram-sha-256"},
		{"host", "samerole", "+tenantctl_logins", "all", "scram-sha-256"},
		{"local", "all", "+tenantctl_logins", "reject"},
		{"host", "all", "+tenantctl_logins", "all", "reject"},
	}, rows, "the admin first, then the doors samerole would open, then samerole, then reject: the first matching line wins")
	// A role name pg_hba.conf would misread is double-quoted.
	require.Contains(t, Lines(`Admin "x"`, "cert"), `"Admin ""x"""`)
	// A name pg_hba.conf would read as a keyword is quoted in the database field.
	require.Contains(t, Lines("all", ""), `replication,tenantctl_logins,tenantctl_template_owner,"all"`)
}

func rulesOf(lines []Rule) []Rule {
	for i := range lines {
		lines[i].Line = i + 1
	}
	return lines
}

// initdbRules are what initdb --auth=scram-sha-256 writes after tenantctl's lines.
var initdbRules = []Rule{
	{Type: "local", Database: []string{"all"}, User: []string{"all"}, Method: "scram-sha-256"},
	{Type: "host", Database: []string{"all"}, User: []string{"all"}, Address: "127.0.0.1", Netmask: "255.255.255.255", Method: "scram-sha-256"},
	{Type: "local", Database: []string{"replication"}, User: []string{"all"}, Method: "scram-sha-256"},
	{Type: "host", Database: []string{"replication"}, User: []string{"all"}, Address: "127.0.0.1", Netmask: "255.255.255.255", Method: "scram-sha-256"},
}

func TestCheck(t *testing.T) {
	t.Parallel()
	o := CheckOptions{AdminRole: "tenantctl_admin", Superusers: []string{"postgres"}}
	clean := rulesOf(append(Expected("tenantctl_admin", ""), initdbRules...))
	an := Check(clean, o)
	require.True(t, an.Clean(), "%+v", an)
	require.Empty(t, Diff(clean, o))
	// Debian's peer line for postgres first is no door for a customer.
	peer := Rule{Type: "local", Database: []string{"all"}, User: []string{"postgres"}, Method: "peer"}
	require.True(t, Check(rulesOf(slices.Concat([]Rule{peer}, clean)), o).Clean())

	trustAll := Rule{Type: "host", Database: []string{"all"}, User: []string{"all"}, Address: "all", Method: "trust"}
	trustOne := Rule{Type: "host", Database: []string{"all"}, User: []string{"t_abcdefghij_app"}, Address: "all", Method: "scram-sha-256"}
	cases := []struct {
		name  string
		rules []Rule
		sev   string
		want  string
	}{
		{"trust above", slices.Concat([]Rule{trustAll}, clean), Critical, "comes before tenantctl's lines"},
		{"one tenant above", slices.Concat([]Rule{trustOne}, clean), Critical, "t_abcdefghij_app"},
		{"trust after", slices.Concat(clean, []Rule{trustAll}), Critical, "superuser postgres"},
		{"lines missing", initdbRules, Critical, "are not in the server's pg_hba.conf"},
		{"older lines", slices.Concat(legacy("tenantctl_admin", ""), initdbRules), High, "replication pseudo-database"},
		{"unreadable line", slices.Concat(clean, []Rule{{Type: "host", Error: "invalid IP address"}}), High, "unverified"},
	}
	for _, c := range cases {
		an := Check(rulesOf(append([]Rule(nil), c.rules...)), o)
		require.False(t, an.Clean(), c.name)
		found := false
		for _, f := range an.Findings {
			found = found || (f.Severity == c.sev && strings.Contains(f.Detail, c.want))
		}
		require.True(t, found, "%s: %+v", c.name, an.Findings)
		require.NotEmpty(t, Diff(rulesOf(append([]Rule(nil), c.rules...)), o), c.name)
	}
}
