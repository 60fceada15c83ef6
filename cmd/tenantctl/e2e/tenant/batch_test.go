package tenant_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestBatchOnboarding(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	sfx := pgtest.RandomSuffix()[:4]
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	before := databases(t)

	// A malformed file is refused whole: nothing created.
	for _, body := range []string{
		"slug,name,domain\nb1-" + sfx + ",One,b1-" + sfx + ".example\nonly-two,columns\n",
		"slug,name,domain\n\"unterminated,x,y\n",
		"slug,name,domain,colour\nb1-" + sfx + ",One,b1-" + sfx + ".example,red\n",
		"# nothing but a comment\n",
	} {
		c.Expect(2, []string{"malformed batch file"}, "tenant", "create", "--from-file", write("bad.csv", body))
	}
	c.Expect(2, []string{"read batch file"}, "tenant", "create", "--from-file", filepath.Join(dir, "missing.csv"))
	c.Expect(2, []string{"--name applies to one tenant"}, "tenant", "create", "--from-file", write("x.csv", "a,b,c\n"), "--name", "x")
	c.Expect(2, []string{"expects a tenant SLUG"}, "tenant", "create")
	require.Equal(t, before, databases(t), "a malformed file creates nothing")
	require.Empty(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json")))

	// Good rows are created; bad rows fail alone and are named.
	file := write("tenants.csv", strings.Join([]string{
		"slug,name,domain,server,labels,contact",
		"b1-" + sfx + ",Batch One,b1-" + sfx + ".example,pg-a,,it@b1-" + sfx + ".example",
		"b2-" + sfx + ",\"Batch Two, Inc\",b2-" + sfx + ".example,,zone=zpg-b,",
		"Bad_Slug,Bad,bad-" + sfx + ".example",
		"b3-" + sfx + ",Batch Three,b3-" + sfx + ".example",
		"b4-" + sfx + ",Dup Domain,b3-" + sfx + ".example",
		"b5-" + sfx + ",No Server,b5-" + sfx + ".example,nope",
	}, "\n")+"\n")
	stdout, stderr, code := c.Run("tenant", "create", "--from-file", file, "--concurrency", "3")
	require.Equal(t, 1, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Contains(t, stdout, "3 of 6 tenants created")
	require.Contains(t, stderr, "line 4 (Bad_Slug)")
	require.Contains(t, stderr, "line 7 (b5-"+sfx+")")
	require.True(t, strings.Contains(stderr, "line 6 (b4-"+sfx+")") || strings.Contains(stderr, "line 5 (b3-"+sfx+")"),
		"one of the two rows sharing a domain fails: %s", stderr)
	list := e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json"))
	require.Len(t, list, 3)
	byslug := map[string]map[string]any{}
	for _, tn := range list {
		byslug[tn["slug"].(string)] = tn
		require.Equal(t, "active", tn["state"])
	}
	require.Equal(t, "pg-a", byslug["b1-"+sfx]["server"])
	require.Equal(t, "pg-b", byslug["b2-"+sfx]["server"])
	require.Equal(t, "Batch Two, Inc", byslug["b2-"+sfx]["name"])

	// JSON results per row, from stdin.
	res := e2e.Decode[[]map[string]any](t, func() string {
		out, _, code := c.RunStdin("b6-"+sfx+",Six,b6-"+sfx+".example\n", "tenant", "create", "--from-file", "-", "-o", "json")
		require.Equal(t, 0, code)
		return out
	}())
	require.Len(t, res, 1)
	require.Equal(t, true, res[0]["ok"])
	require.Equal(t, float64(1), res[0]["line"])
}
