-- A least-privilege admin role for tenantctl: no superuser needed.
CREATE ROLE tenantctl_admin LOGIN CREATEDB CREATEROLE PASSWORD 'tenantctl-admin-dev-password';
