// Package dbconn opens connections and pools the way every part of tenantctl should:
// with application_name, statement_timeout and idle_in_transaction_session_timeout set
// unless the DSN already sets them, a bounded connect timeout, TCP keepalives, a
// client-side bound on every wait for a server (see [Watch]: liveness checks and a
// deadline past statement_timeout, so a frozen server cannot hang a command), and with
// errors scrubbed of secrets.
//
// It knows nothing of catalogs or tenants. Its only state is what liveness checks share
// per server address (when a server last answered), never a connection.
package dbconn
