package rollout

import (
	"testing"

	"github.com/stretchr/testify/require"
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
