// Package version says which tenantctl this binary is: the version stamped at build time
// (make build, the Dockerfile: -ldflags "-X github.com/tenantctl/tenantctl/internal/version.stamped=v1.2.3"),
// else the module version `go install …@v1.2.3` records, else the VCS revision Go
// records in a checkout build, else "dev".
//
// It only reads build information; it does no I/O.
package version
