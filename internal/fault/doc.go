// Package fault holds tenantctl's kill points: named places between two statements
// that change a server or the catalog, where a crash test can make the process die
// with SIGKILL, exactly as `kill -9` or a power cut would.
//
// A point fires only when the environment variable TENANTCTL_FAULT names it (or
// "name:N", to die on its Nth hit). Unset, a hit costs one atomic load. Every point is
// declared once with [Register] at package level, so [Points] lists them all for tests
// that must iterate every one.
//
// The package knows nothing of tenants, catalogs or commands, and must never do
// anything but die or return: no logging, no delays, no partial effects.
package fault
