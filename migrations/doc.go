// Package migrations owns the embedded goose SQL migrations of the catalog, the warehouse
// and the default tenant schema, and runs migrations with the goose v3 Provider API under
// a session advisory lock, so concurrent runs against one database are safe.
//
// It runs migrations on a database it is handed; it never decides which databases to
// migrate (that is the fleet's job).
package migrations
