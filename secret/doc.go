// Package secret owns everything tenantctl does with secrets: the operator's key,
// AES-256-GCM sealing of credentials kept in the catalog (each sealed value names the id
// of the key that sealed it, so keys can be told apart and rotated), random passwords,
// SCRAM-SHA-256 verifiers computed client-side, and scrubbing secrets out of anything
// that may be shown or logged.
//
// It never logs, prints or stores a secret itself; callers decide where sealed values go.
package secret
