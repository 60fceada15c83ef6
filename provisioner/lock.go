package provisioner

import (
	"context"
	"fmt"
	"hash/fnv"
)

// lockTenant takes a session advisory lock on the catalog for one tenant, held on a
// dedicated connection, so two processes never drive the same tenant at once. A
// process that dies loses the lock with its connection, so a rerun can take over.
func (p *Provisioner) lockTenant(ctx context.Context, id string) (unlock func(), err error) {
	conn, err := p.Store.Pool().Acquire(ctx)
	if err != nil {
		return nil, err
	}
	key := tenantLockKey(id)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock tenant: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrBusy
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// Never return a connection that may still hold the lock to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

func tenantLockKey(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tenant:" + id))
	return int64(h.Sum64())
}
