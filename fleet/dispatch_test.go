package fleet

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDispatchBoundsConcurrencyOverallAndPerServer(t *testing.T) {
	t.Parallel()
	var steps []step
	for i := 0; i < 30; i++ {
		steps = append(steps, step{ID: fmt.Sprint(i), Server: []string{"a", "a", "a", "b", "c"}[i%5]})
	}
	var mu sync.Mutex
	running, peak := map[string]int{}, map[string]int{}
	total, peakTotal := 0, 0
	done := 0
	notStarted := Dispatch(context.Background(), steps, serverOf, Limits{Total: 4, PerServer: 2},
		func(ctx context.Context, st step) int {
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
		func(step, int) bool { done++; return false })
	require.Empty(t, notStarted)
	require.Equal(t, 30, done)
	require.Equal(t, 4, peakTotal, "server a's backlog must not keep b and c waiting")
	for s, p := range peak {
		require.LessOrEqual(t, p, 2, "server %s", s)
	}
	require.Equal(t, 2, peak["a"])
}

func TestDispatchStopsNewWork(t *testing.T) {
	t.Parallel()
	var steps []step
	for i := 0; i < 10; i++ {
		steps = append(steps, step{ID: fmt.Sprint(i), Server: "a"})
	}
	n := 0
	notStarted := Dispatch(context.Background(), steps, serverOf, Limits{Total: 1, PerServer: 1},
		func(context.Context, step) error { return fmt.Errorf("boom") },
		func(step, error) bool { n++; return n >= 3 })
	require.Equal(t, 3, n)
	require.Len(t, notStarted, 7)
	require.Equal(t, "3", notStarted[0].ID, "not-started steps keep plan order")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	notStarted = Dispatch(ctx, steps, serverOf, Limits{Total: 2, PerServer: 2},
		func(context.Context, step) error { return nil }, func(step, error) bool { return false })
	require.Len(t, notStarted, 10, "a cancelled context starts nothing")
}

type step struct{ ID, Server string }

func serverOf(s step) string { return s.Server }
