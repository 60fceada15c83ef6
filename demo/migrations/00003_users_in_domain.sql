-- +goose Up
-- Customer users are invited only under the customer's own email domain. tenantctl
-- writes the domain into every tenant database as two functions, tenantctl_domain() and
-- tenantctl_email_in_domain(email); this trigger holds the service desk's users table to
-- them. Rows already there are not rechecked: the warehouse's compliance check (the
-- report's users_outside_domain, the console's customer page) lists any outside it.
-- A trigger rather than a CHECK constraint: a dump restores its rows before its
-- triggers, and a logical move's apply fires none, so rows written before this
-- migration never stop a move or an import.
-- +goose StatementBegin
CREATE FUNCTION users_email_in_domain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF tenantctl_email_in_domain(NEW.email) IS NOT TRUE THEN
        RAISE EXCEPTION 'user % is outside the customer''s email domain %', NEW.email, tenantctl_domain()
            USING ERRCODE = 'check_violation', TABLE = 'users', COLUMN = 'email',
                  HINT = 'Customer users are invited only under the customer''s own email domain.';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_email_in_domain BEFORE INSERT OR UPDATE OF email ON users
    FOR EACH ROW EXECUTE FUNCTION users_email_in_domain();

-- +goose Down
DROP TRIGGER users_email_in_domain ON users;
DROP FUNCTION users_email_in_domain();
