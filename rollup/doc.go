// Package rollup copies rows from every tenant database into the MSP-only warehouse,
// incrementally and exactly once.
//
// For each tenant, [Run] reads the spec's tables from one REPEATABLE READ snapshot of
// the tenant database. The snapshot's pg_snapshot_xmin is the tenant's new watermark:
// rows whose xmin is at or above the previous watermark are streamed with binary COPY
// into a staging table and upserted (a table's first copy streams straight into the
// warehouse table), deleted rows are found by comparing counts and then keys, and the
// rows and the new watermarks commit in one warehouse transaction. A transaction still
// open while a run reads the tenant has an id at or above the watermark, so the next run
// reads its rows; a crash at any point leaves the old rows with the old watermark.
// Statements that need no answer before the next travel together in pipelined batches:
// a tenant with nothing changed costs one login and one round trip on its database, and
// two round trips on the warehouse.
//
// Files: spec.go (the YAML spec), options.go, run.go (the fleet: targets and outcomes;
// the fan-out itself is fleet's), tenant.go (one tenant: snapshot, plan, copy, commit),
// schema.go (source columns and warehouse types), copy.go (the COPY pipe), status.go,
// errors.go.
//
// It reads tenant databases and writes the warehouse (through package warehouse for
// its schema). It never changes a tenant database or the catalog, and it does not
// record job runs: package jobs wraps [Run] in one for the CLI, the demo and the
// scheduler.
package rollup
