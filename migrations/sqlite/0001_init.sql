-- pushgate schema, SQLite. migrations/postgres/0001_init.sql has the same tables and
-- columns; types differ only where the dialect must: STRICT tables (so a value of the
-- wrong type is refused, not silently stored) take INTEGER for PostgreSQL's BIGINT and
-- BLOB for BYTEA, the receipt sequence is INTEGER PRIMARY KEY AUTOINCREMENT for BIGSERIAL,
-- and text compares by code point (BINARY) without PostgreSQL's COLLATE "C".
--
-- Conventions (so one SQL text per query works through sqlx's Any driver on both):
-- ids are TEXT (UUIDs as text), timestamps INTEGER unix milliseconds, JSON is TEXT, sealed
-- secrets BLOB, no booleans.

CREATE TABLE tenants (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    hash        TEXT NOT NULL,  -- hex SHA-256 of the key; the key is never stored
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (hash);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE apps (
    id          TEXT NOT NULL PRIMARY KEY,  -- global: the ingest contract names apps alone
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL,  -- JSON of push_core::AppSettings
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX apps_by_tenant ON apps (tenant_id, id);

CREATE TABLE devices (
    app_id              TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    device_id           TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    channel             TEXT NOT NULL,
    token               TEXT,  -- NULL once the token moved to another device
    apns_environment    TEXT,
    last_seen_at        INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    deactivated_at      INTEGER,  -- NULL while active
    deactivation_reason TEXT,
    PRIMARY KEY (app_id, device_id),
    CHECK ((deactivated_at IS NULL) = (deactivation_reason IS NULL))
) STRICT;
CREATE UNIQUE INDEX devices_by_token ON devices (app_id, channel, token) WHERE token IS NOT NULL;
CREATE INDEX devices_by_user ON devices (app_id, user_id, device_id);

CREATE TABLE notifications (
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,  -- the producer's idempotency key
    message     TEXT NOT NULL,  -- JSON of push_core::IngestMessage
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
) STRICT;

-- device_id is plain text, not a foreign key: deleting a device keeps its deliveries.
CREATE TABLE deliveries (
    id                TEXT NOT NULL PRIMARY KEY,
    app_id            TEXT NOT NULL,
    notification_id   TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    state             TEXT NOT NULL,
    reason            TEXT,
    vendor_message_id TEXT,
    attempts          INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    FOREIGN KEY (app_id, notification_id) REFERENCES notifications (app_id, id) ON DELETE CASCADE
) STRICT;
-- One delivery per notification and device; also serves "deliveries of a notification".
CREATE UNIQUE INDEX deliveries_by_notification ON deliveries (app_id, notification_id, device_id);

-- One row per state a delivery entered, in order of seq.
CREATE TABLE receipts (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id       TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    app_id            TEXT NOT NULL,
    notification_id   TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    state             TEXT NOT NULL,
    reason            TEXT,
    vendor_message_id TEXT,
    recorded_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX receipts_by_delivery ON receipts (delivery_id, seq);

CREATE TABLE credentials (
    id            TEXT NOT NULL PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    version       INTEGER NOT NULL,  -- 1, 2, 3… per app and channel
    kind          TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    public_fields TEXT NOT NULL,  -- JSON object of non-secret identifiers
    state         TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
    not_after     INTEGER,
    created_at    INTEGER NOT NULL,
    activated_at  INTEGER,
    kek_id        TEXT NOT NULL,  -- the master key that wrapped the data key
    wrapped_dek   BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    UNIQUE (app_id, channel, version)
) STRICT;
-- At most one active version per app and channel.
CREATE UNIQUE INDEX credentials_active ON credentials (app_id, channel) WHERE state = 'active';
