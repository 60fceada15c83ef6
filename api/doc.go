// Package api owns tenantctl's HTTP API, /api/v1: JSON over the same provisioner and
// catalog functions the CLI calls, so every action behaves exactly as its command does.
// Callers authenticate with an operator token (Authorization: Bearer …); the operator's
// role decides what it may do, and its login is the actor of every event it causes.
// Errors are RFC 9457 problem details. The OpenAPI 3 document (openapi.json, embedded)
// describes every route; a test keeps the two in agreement.
//
// It never returns a secret, except the admin-only DSN route, and it never changes
// anything on its own: no background work outlives the request that started it beyond
// the operation the request asked for.
package api
