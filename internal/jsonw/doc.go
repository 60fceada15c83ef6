// Package jsonw appends JSON values to a byte slice exactly as encoding/json writes
// them (HTML-safe string escaping, RFC 3339 times), without reflection, for the few
// hot paths that print thousands of rows (tenant list, migrate status at 10,000
// tenants). Types keep their json struct tags as the reference: each hand-written
// encoder is tested byte for byte against encoding/json.
//
// It owns no types and must not grow into a general encoder: anything unusual (maps,
// odd strings) falls back to encoding/json.
package jsonw
