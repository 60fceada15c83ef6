package catalog

import "context"

type actorKey struct{}

// WithActor returns a context whose changes are attributed to actor in the event log
// (and as the granter of access grants), instead of the store's Actor. `tenantctl
// serve` uses it to record the authenticated operator, since one store serves every
// operator's requests.
func WithActor(ctx context.Context, actor string) context.Context {
	if actor == "" {
		return ctx
	}
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set with [WithActor], or "".
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// actor is who a change made under ctx is attributed to.
func (s *Store) actor(ctx context.Context) string {
	if a := ActorFrom(ctx); a != "" {
		return a
	}
	return s.Actor
}
