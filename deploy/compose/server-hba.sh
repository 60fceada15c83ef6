#!/bin/sh
# Runs once, when the container initialises its data directory: places the lines
# `tenantctl server hba` prints first in pg_hba.conf, so tenant and MSP access logins
# open only their own database (see "Confining tenant logins" in README.md).
set -e
hba="$PGDATA/pg_hba.conf"
{ cat <<'LINES'
# tenantctl: confine tenant and MSP access logins to their own database.
# Place these lines FIRST in pg_hba.conf, then reload (SELECT pg_reload_conf()).
local  all       tenantctl_admin             scram-sha-256
host   all       tenantctl_admin        all  scram-sha-256
local  replication,tenantctl_logins,tenantctl_template_owner,tenantctl_admin +tenantctl_logins           reject
host   replication,tenantctl_logins,tenantctl_template_owner,tenantctl_admin +tenantctl_logins      all  reject
local  samerole  +tenantctl_logins           scram-sha-256
host   samerole  +tenantctl_logins      all  scram-sha-256
local  all       +tenantctl_logins           reject
host   all       +tenantctl_logins      all  reject
# end of tenantctl lines
LINES
  cat "$hba"; } > "$hba.tenantctl" && mv "$hba.tenantctl" "$hba"
