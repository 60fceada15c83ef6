-- +goose Up
-- Sealed values carry the id of the key that sealed them (a header written by the secret
-- package: 't' 'k' 0x01, then 8 bytes of key id). meta 'key_id' holds the id of the
-- catalog's current key. This guard refuses to store a value sealed with any other key,
-- so a process still running with the old key after `tenantctl secret rotate-key` cannot
-- write a credential nobody could open later. It fires only when the sealed column is
-- written, so rows sealed before key ids existed stay until the next rotation.
--
-- A table that gains a sealed column adds this trigger with the column's name as its
-- argument, and the column to catalog's list of sealed columns (catalog/keys.go).
-- +goose StatementBegin
CREATE FUNCTION sealed_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v    bytea;
    prev bytea;
    want bytea;
BEGIN
    EXECUTE format('SELECT ($1::%s).%I', TG_RELID::regclass, TG_ARGV[0]) USING NEW INTO v;
    IF v IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format('SELECT ($1::%s).%I', TG_RELID::regclass, TG_ARGV[0]) USING OLD INTO prev;
        IF v IS NOT DISTINCT FROM prev THEN
            RETURN NEW;
        END IF;
    END IF;
    SELECT value INTO want FROM meta WHERE key = 'key_id';
    IF want IS NULL THEN
        RETURN NEW;
    END IF;
    IF length(v) < 11 OR substring(v FROM 1 FOR 3) <> '\x746b01'::bytea OR substring(v FROM 4 FOR 8) <> want THEN
        RAISE EXCEPTION 'refusing to store %.% sealed with a key that is not the catalog''s current key (id %)',
            TG_TABLE_NAME, TG_ARGV[0], encode(want, 'hex')
            USING ERRCODE = 'TK001';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER servers_sealed_key_guard BEFORE INSERT OR UPDATE OF dsn_sealed ON servers
    FOR EACH ROW EXECUTE FUNCTION sealed_key_guard('dsn_sealed');
CREATE TRIGGER credentials_sealed_key_guard BEFORE INSERT OR UPDATE OF secret_sealed ON credentials
    FOR EACH ROW EXECUTE FUNCTION sealed_key_guard('secret_sealed');
CREATE TRIGGER warehouse_sealed_key_guard BEFORE INSERT OR UPDATE OF dsn_sealed ON warehouse
    FOR EACH ROW EXECUTE FUNCTION sealed_key_guard('dsn_sealed');
CREATE TRIGGER access_grants_sealed_key_guard BEFORE INSERT OR UPDATE OF secret_sealed ON access_grants
    FOR EACH ROW EXECUTE FUNCTION sealed_key_guard('secret_sealed');

-- +goose Down
DROP TRIGGER access_grants_sealed_key_guard ON access_grants;
DROP TRIGGER warehouse_sealed_key_guard ON warehouse;
DROP TRIGGER credentials_sealed_key_guard ON credentials;
DROP TRIGGER servers_sealed_key_guard ON servers;
DROP FUNCTION sealed_key_guard();
