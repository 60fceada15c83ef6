package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tenantctl/tenantctl/tenantdb"
)

var seq atomic.Int64

func slug(prefix string) string {
	return fmt.Sprintf("%s-%d-%s", prefix, seq.Add(1), tenantdb.NewID()[:4])
}

// rawCreateScript is what an operator would script for one tenant with the real psql:
// two roles, a FILE_COPY clone of the pre-migrated template, REVOKE/GRANT.
func (h *harness) rawCreateScript(id string) string {
	db, owner, app := "bench_"+id, "bench_"+id+"_owner", "bench_"+id+"_app"
	admin := h.adminRole()
	return strings.Join([]string{
		"CREATE ROLE " + owner + " NOLOGIN",
		"CREATE ROLE " + app + " LOGIN PASSWORD 'pw-" + tenantdb.NewID() + tenantdb.NewID() + "' CONNECTION LIMIT 50",
		"GRANT " + owner + " TO " + admin,
		"CREATE DATABASE " + db + " OWNER " + owner + " TEMPLATE " + h.template + " STRATEGY FILE_COPY",
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		"GRANT CONNECT ON DATABASE " + db + " TO " + app,
	}, ";\n") + ";\n"
}

func (h *harness) adminRole() string {
	u, err := url.Parse(h.adminDSN)
	if err != nil {
		return "tenantctl_admin"
	}
	return u.User.Username()
}

func (h *harness) psqlEnv() []string {
	u, _ := url.Parse(h.adminDSN)
	pw, _ := u.User.Password()
	return append(h.env, "PGPASSWORD="+pw)
}

func (h *harness) psqlArgs(db string) []string {
	u, _ := url.Parse(h.adminDSN)
	return []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), "-d", db}
}

func (h *harness) setSpares(ctx context.Context, n int) error {
	if _, err := h.run(ctx, "server set", "server", "set", "pg-a", "--spares", strconv.Itoa(n)); err != nil {
		return err
	}
	_, err := h.run(ctx, "server refill", "server", "refill")
	return err
}

// provisioning: tenant create from the pool, with the pool empty and on the slow path,
// one after another and four at once, against one psql process per tenant.
func (h *harness) provisioning(ctx context.Context, r *report) error {
	n := r.Sizes.Creates
	measure := func(name string, conc int, fn func(i int) (time.Duration, error)) (measurement, error) {
		s := h.sampleConns(ctx)
		durs, wall, err := ops(ctx, n, conc, fn)
		peak := s.Stop()
		m := measurement{Section: "provisioning", Name: name, Ops: n, Conc: conc, TotalMS: ms(wall),
			P50MS: ms(percentile(durs, 0.5)), P95MS: ms(percentile(durs, 0.95)), PerOpMS: ms(wall) / float64(n), PeakConns: peak}
		h.logf("%s (c%d): p50 %.0f ms, p95 %.0f ms", name, conc, m.P50MS, m.P95MS)
		return m, err
	}
	raw := func(i int) (time.Duration, error) {
		t, err := h.exec(ctx, "psql (raw create)", h.psqlEnv(), h.rawCreateScript(tenantdb.NewID()), PSQL, h.psqlArgs("postgres")...)
		return t.d, err
	}
	create := func(cmdName string, extra ...string) func(i int) (time.Duration, error) {
		return func(i int) (time.Duration, error) {
			s := slug("p")
			args := append([]string{"tenant", "create", s, "--name", "Provisioned " + s, "--domain", s + ".example", "--server", "pg-a"}, extra...)
			t, err := h.run(ctx, cmdName, args...)
			return t.d, err
		}
	}
	res := map[string]measurement{}
	for _, conc := range []int{1, 4} {
		k := strconv.Itoa(conc)
		m, err := measure("psql script (raw)", conc, raw)
		if err != nil {
			return err
		}
		res["raw"+k] = r.add(m)

		if err := h.setSpares(ctx, n); err != nil {
			return err
		}
		m, err = measure("tenant create, pool hit", conc, create("tenant create"))
		if err != nil {
			return err
		}
		res["pool"+k] = r.add(m)

		if err := h.setSpares(ctx, 0); err != nil {
			return err
		}
		m, err = measure("tenant create, pool empty", conc, create("tenant create"))
		if err != nil {
			return err
		}
		res["empty"+k] = r.add(m)
		if conc == 1 {
			m, err = measure("tenant create --no-template (slow path)", conc, create("tenant create --no-template", "--no-template"))
			if err != nil {
				return err
			}
			res["slow"] = r.add(m)
		}
	}
	if err := h.apiCreate(ctx, r); err != nil {
		return err
	}
	r.compare("tenant create p50, pool hit, one at a time", res["pool1"], res["raw1"], p50, 0.5, "≤ 0.5× psql")
	r.compare("tenant create p50, pool hit, 4 at once", res["pool4"], res["raw4"], p50, 0.5, "≤ 0.5× psql")
	r.compare("tenant create p50, pool empty, one at a time", res["empty1"], res["raw1"], p50, 1.2, "≤ 1.2× psql")
	r.compare("tenant create p50, pool empty, 4 at once", res["empty4"], res["raw4"], p50, 1.5, "≤ 1.5× psql")
	return nil
}
