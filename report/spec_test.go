package report

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestDefaultSpecLoads(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	var names []string
	for _, q := range s.Queries {
		names = append(names, q.Name)
	}
	require.Equal(t, []string{"summary", "incidents_per_week", "open_by_priority", "sla_breaches", "users_by_role", "systems_by_kind", "users_outside_domain"}, names)
}

func TestSpecRefusesQueriesThatDoNotBindTheTenant(t *testing.T) {
	t.Parallel()
	for name, sql := range map[string]string{
		"no parameter":       "SELECT count(*) FROM incidents",
		"only in a string":   "SELECT count(*) FROM incidents WHERE title = '$1'",
		"only in a comment":  "SELECT count(*) FROM incidents -- WHERE tenant_id = $1",
		"only in a block":    "SELECT count(*) FROM incidents /* tenant_id = $1 */",
		"only dollar-quoted": "SELECT count(*) FROM incidents WHERE title = $q$ $1 $q$",
		"another parameter":  "SELECT count(*) FROM incidents WHERE tenant_id = $1 OR tenant_id = $2",
		"two statements":     "SELECT 1 WHERE $1 = ''; DELETE FROM incidents",
		"not a select":       "DELETE FROM incidents WHERE tenant_id = $1",
		"quoted identifier":  `SELECT count(*) FROM incidents WHERE "$1" = 'x'`,
		"unterminated":       "SELECT count(*) FROM incidents WHERE tenant_id = $1 AND title = 'x",
		"empty":              "  ",
	} {
		err := CheckSQL(sql)
		require.Error(t, err, name)
		_, err = ParseSpec([]byte("queries:\n  - name: q\n    sql: " + quote(sql) + "\n"))
		require.ErrorIs(t, err, validate.ErrInvalid, name)
	}
	require.NoError(t, CheckSQL("SELECT count(*) FROM incidents WHERE tenant_id = $1;"))
	require.NoError(t, CheckSQL("WITH x AS (SELECT * FROM users WHERE tenant_id = $1) SELECT count(*) FROM x"))

	for name, raw := range map[string]string{
		"unknown field": "queries:\n  - name: q\n    sql: SELECT $1\n    bogus: 1\n",
		"bad name":      "queries:\n  - name: Bad-Name\n    sql: SELECT $1\n",
		"duplicate":     "queries:\n  - name: q\n    sql: SELECT $1\n  - name: q\n    sql: SELECT $1\n",
		"no queries":    "title: x\n",
	} {
		_, err := ParseSpec([]byte(raw))
		require.ErrorIs(t, err, validate.ErrInvalid, name)
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
