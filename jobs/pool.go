package jobs

import (
	"context"

	"github.com/tenantctl/tenantctl/provisioner"
)

// PoolOptions are a pool run's: the provisioner whose servers' warm pools are refilled.
type PoolOptions struct {
	Provisioner *provisioner.Provisioner
}

// Pool refills every server's warm pool of spare databases
// ([provisioner.Provisioner.RefillPool]); the claiming `tenant create` never does.
var Pool = Def[PoolOptions, []provisioner.PoolResult]{
	Name: "pool",
	run: func(ctx context.Context, o PoolOptions) ([]provisioner.PoolResult, error) {
		return o.Provisioner.RefillPool(ctx, "", false)
	},
	counts: func(results []provisioner.PoolResult, _ error) map[string]int64 {
		m := map[string]int64{"built": 0, "dropped": 0, "ready": 0}
		for _, r := range results {
			m["built"] += int64(r.Built + r.Finished)
			m["dropped"] += int64(r.Dropped)
			m["ready"] += int64(r.Ready)
		}
		return m
	},
}
