// Package rollup copies rows from every tenant database into the MSP-only warehouse,
// incrementally and exactly once: for each tenant, the rows changed since its last run
// are streamed with COPY into a staging table and upserted, and the tenant's watermark
// advances in the same warehouse transaction as the rows.
//
// It reads tenant databases and writes the warehouse; it never changes a tenant
// database or the catalog's tenants.
package rollup
