package rollout

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDispatchBoundsConcurrencyOverallAndPerServer(t *testing.T) {
	var steps []Step
	for i := 0; i < 30; i++ {
		steps = append(steps, Step{ID: fmt.Sprint(i), Server: []string{"a", "a", "a", "b", "c"}[i%5]})
	}
	var mu sync.Mutex
	running, peak := map[string]int{}, map[string]int{}
	total, peakTotal := 0, 0
	done := 0
	notStarted := dispatch(context.Background(), steps, limits{total: 4, perServer: 2},
		func(ctx context.Context, st Step) int {
			mu.Lock()
			running[st.Server]++
			total++
			peak[st.Server] = max(peak[st.Server], running[st.Server])
			peakTotal = max(peakTotal, total)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			running[st.Server]--
			total--
			mu.Unlock()
			return 0
		},
		func(Step, int) bool { done++; return false })
	require.Empty(t, notStarted)
	require.Equal(t, 30, done)
	require.Equal(t, 4, peakTotal, "server a's backlog must not keep b and c waiting")
	for s, p := range peak {
		require.LessOrEqual(t, p, 2, "server %s", s)
	}
	require.Equal(t, 2, peak["a"])
}

func TestDispatchStopsNewWork(t *testing.T) {
	var steps []Step
	for i := 0; i < 10; i++ {
		steps = append(steps, Step{ID: fmt.Sprint(i), Server: "a"})
	}
	n := 0
	notStarted := dispatch(context.Background(), steps, limits{total: 1, perServer: 1},
		func(context.Context, Step) error { return fmt.Errorf("boom") },
		func(Step, error) bool { n++; return n >= 3 })
	require.Equal(t, 3, n)
	require.Len(t, notStarted, 7)
	require.Equal(t, "3", notStarted[0].ID, "not-started steps keep plan order")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	notStarted = dispatch(ctx, steps, limits{total: 2, perServer: 2},
		func(context.Context, Step) error { return nil }, func(Step, error) bool { return false })
	require.Len(t, notStarted, 10, "a cancelled context starts nothing")
}

func TestWavesSpreadCanariesAndRunFailedLast(t *testing.T) {
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
