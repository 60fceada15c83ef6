package rollout

import "context"

// limits bound how many steps run at once, overall and per server.
type limits struct {
	total, perServer int
}

// dispatch runs do for each step with at most lim.total at once and at most
// lim.perServer at once on one server. Steps of a server at its limit wait without
// holding a slot, so a busy server never starves the others (no head-of-line blocking).
// done is called for each finished step on the calling goroutine, in completion order;
// when it returns true, or ctx is cancelled, no further step starts, the ones running
// finish, and the steps never started are returned. Every goroutine started ends when do
// returns, which it must do promptly once ctx is cancelled.
func dispatch[T any](ctx context.Context, steps []Step, lim limits, do func(context.Context, Step) T, done func(Step, T) bool) (notStarted []Step) {
	type finished struct {
		step Step
		out  T
	}
	queues := map[string][]Step{}
	var servers []string
	for _, st := range steps {
		if _, ok := queues[st.Server]; !ok {
			servers = append(servers, st.Server)
		}
		queues[st.Server] = append(queues[st.Server], st)
	}
	running := map[string]int{}
	results := make(chan finished)
	inflight, next := 0, 0
	stopped := false
	ctxDone := ctx.Done()

	// pick takes the next step round-robin from a server below its limit.
	pick := func() (Step, bool) {
		for i := range servers {
			s := servers[(next+i)%len(servers)]
			if len(queues[s]) > 0 && running[s] < lim.perServer {
				st := queues[s][0]
				queues[s] = queues[s][1:]
				next = (next + i + 1) % len(servers)
				return st, true
			}
		}
		return Step{}, false
	}
	started := map[string]bool{}
	for {
		if ctx.Err() != nil {
			stopped = true
		}
		for !stopped && inflight < lim.total {
			st, ok := pick()
			if !ok {
				break
			}
			started[st.ID] = true
			running[st.Server]++
			inflight++
			go func() { results <- finished{st, do(ctx, st)} }()
		}
		if inflight == 0 {
			break
		}
		select {
		case f := <-results:
			inflight--
			running[f.step.Server]--
			if done(f.step, f.out) {
				stopped = true
			}
		case <-ctxDone:
			stopped = true
			ctxDone = nil // wait only for the running steps from now on
		}
	}
	for _, st := range steps {
		if !started[st.ID] {
			notStarted = append(notStarted, st)
		}
	}
	return notStarted
}
