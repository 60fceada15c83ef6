-- A least-privilege admin role for tenantctl: no superuser needed.
CREATE ROLE tenantctl_admin LOGIN CREATEDB CREATEROLE PASSWORD 'tenantctl-admin-dev-password';
-- The audit reads the effective pg_hba.conf rules; without this its verdict is incomplete.
GRANT SELECT ON pg_catalog.pg_hba_file_rules TO "tenantctl_admin"; GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO "tenantctl_admin";
