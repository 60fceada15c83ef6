package fleet

import "context"

// Limits bound how many items run at once, overall and per server.
type Limits struct {
	Total, PerServer int
}

// Dispatch runs do for each item with at most lim.Total at once and at most
// lim.PerServer at once on one server (server names an item's server). Items are taken
// round-robin over the servers in order of first appearance, and items of a server at
// its limit wait without holding a slot, so a busy server never starves the others (no
// head-of-line blocking). done is called for each finished item on the calling
// goroutine, in completion order; when it returns true, or ctx is cancelled, no further
// item starts, the ones running finish, and the items never started are returned in
// their input order. Every goroutine started ends when do returns, which it must do
// promptly once ctx is cancelled. A limit below 1 counts as 1.
func Dispatch[I, T any](ctx context.Context, items []I, server func(I) string, lim Limits,
	do func(context.Context, I) T, done func(I, T) bool) (notStarted []I) {
	type finished struct {
		i   int
		out T
	}
	total, perServer := max(lim.Total, 1), max(lim.PerServer, 1)
	queues := map[string][]int{}
	var servers []string
	for i, it := range items {
		s := server(it)
		if _, ok := queues[s]; !ok {
			servers = append(servers, s)
		}
		queues[s] = append(queues[s], i)
	}
	running := map[string]int{}
	results := make(chan finished)
	inflight, next := 0, 0
	stopped := false
	ctxDone := ctx.Done()

	// pick takes the next item round-robin from a server below its limit.
	pick := func() (int, bool) {
		for k := range servers {
			s := servers[(next+k)%len(servers)]
			if len(queues[s]) > 0 && running[s] < perServer {
				i := queues[s][0]
				queues[s] = queues[s][1:]
				next = (next + k + 1) % len(servers)
				return i, true
			}
		}
		return 0, false
	}
	started := make([]bool, len(items))
	for {
		if ctx.Err() != nil {
			stopped = true
		}
		for !stopped && inflight < total {
			i, ok := pick()
			if !ok {
				break
			}
			started[i] = true
			running[server(items[i])]++
			inflight++
			go func() { results <- finished{i, do(ctx, items[i])} }()
		}
		if inflight == 0 {
			break
		}
		select {
		case f := <-results:
			inflight--
			running[server(items[f.i])]--
			if done(items[f.i], f.out) {
				stopped = true
			}
		case <-ctxDone:
			stopped = true
			ctxDone = nil // wait only for the running items from now on
		}
	}
	for i, it := range items {
		if !started[i] {
			notStarted = append(notStarted, it)
		}
	}
	return notStarted
}
