// Package faulttest holds tenantctl's end-to-end fault tests, and only tests: the real
// tenantctl binary run as a subprocess against private PostgreSQL clusters, killed with
// SIGKILL at every registered kill point (package fault) and at random instants, run
// concurrently with itself, and faced with stopped and frozen servers; after each fault
// the same command rerun, or `tenantctl reconcile`, must converge.
//
// It exports nothing and must never be imported.
package faulttest
