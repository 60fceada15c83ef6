// Package localpg runs private PostgreSQL clusters on this machine with the server
// binaries that are installed here: initdb with SCRAM authentication and a generated
// superuser password, a server listening on 127.0.0.1 only with its socket inside its
// own directory, start, stop, status and removal.
//
// It backs `tenantctl dev up`, `tenantctl demo` and the test suites. It never touches a
// cluster it did not create, and it must not be used for production servers: those are
// registered with `tenantctl server add`.
package localpg
