-- Credential lifecycle (issue 5): health of each version, expiry warnings, the audit log.
-- migrations/sqlite/0003_credential_lifecycle.sql has the same tables and columns.

-- Last vendor verdict on a version's auth, persisted at most every few seconds per version.
ALTER TABLE credentials ADD COLUMN last_success_at BIGINT;
ALTER TABLE credentials ADD COLUMN last_failure_at BIGINT;
ALTER TABLE credentials ADD COLUMN last_failure_reason TEXT;
-- Set when pushgate fell back from this version because the vendor refused it; cleared
-- when it is activated again by hand.
ALTER TABLE credentials ADD COLUMN unhealthy_at BIGINT;
ALTER TABLE credentials ADD COLUMN unhealthy_reason TEXT;
-- The smallest expiry threshold (30, 7, 1, 0 days) already warned about, so every
-- threshold raises one warning across all instances.
ALTER TABLE credentials ADD COLUMN expiry_warned_days BIGINT;

CREATE TABLE credential_audit (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    api_key_id  TEXT,             -- NULL when pushgate itself acted (fallback)
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    version     BIGINT NOT NULL,
    action      TEXT NOT NULL,    -- upload | activate | rollback | delete | fallback
    at          BIGINT NOT NULL
);
CREATE INDEX credential_audit_by_app ON credential_audit (app_id, at);
