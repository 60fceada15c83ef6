package rollout

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
)

func TestWavesSpreadCanariesAndRunFailedLast(t *testing.T) {
	t.Parallel()
	todo := []Step{
		{Slug: "a1", Server: "a"}, {Slug: "a2", Server: "a"}, {Slug: "a3", Server: "a", LastError: "x"},
		{Slug: "b1", Server: "b"}, {Slug: "b2", Server: "b"},
	}
	first, rest := waves(todo, 3)
	require.Equal(t, []string{"a1", "b1", "a2"}, slugsOf(first))
	require.Equal(t, []string{"b2", "a3"}, slugsOf(rest))
	first, rest = waves(todo, -1)
	require.Empty(t, first)
	require.Len(t, rest, 5)
	first, _ = waves(todo, 10)
	require.Len(t, first, 4, "a tenant that failed before is never a canary")
}

func slugsOf(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Slug)
	}
	return out
}

func TestZeroIsNoneReadsZeroAsNoCanaryAndNoLimit(t *testing.T) {
	t.Parallel()
	store := &catalog.Store{} // Validate only checks that there is one
	o := Options{Store: store}
	require.NoError(t, o.Validate())
	require.Equal(t, DefaultCanary, o.Canary, "0 is the default for callers that leave it unset")
	require.Equal(t, DefaultMaxFailures, o.MaxFailures)

	o = Options{Store: store, ZeroIsNone: true}
	require.NoError(t, o.Validate())
	require.Equal(t, -1, o.Canary, "0 is no canary wave")
	require.Equal(t, -1, o.MaxFailures, "0 is never stop")
	require.NoError(t, o.Validate(), "validating again keeps them")
	require.Equal(t, -1, o.Canary)

	o = Options{Store: store, ZeroIsNone: true, Canary: 2, MaxFailures: 7}
	require.NoError(t, o.Validate())
	require.Equal(t, 2, o.Canary)
	require.Equal(t, 7, o.MaxFailures)
}
