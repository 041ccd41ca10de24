-- Receipt callbacks (issue 6) and vendor auth tokens shared by every instance (issue 5).
-- migrations/sqlite/0004_callbacks_and_shared_tokens.sql has the same tables and columns.

-- Receipts name the vendor's message id; batch sends share one id across many deliveries.
CREATE INDEX deliveries_by_vendor_message ON deliveries (app_id, vendor_message_id);

-- An app's callback secrets: the secret path segment of its callback URLs (vendors that
-- do not sign callbacks), also Huawei's receipt key and WeChat's server Token; and WeChat's
-- EncodingAESKey. The tenant enters them in the vendor consoles.
CREATE TABLE callback_tokens (
    app_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    token       TEXT NOT NULL,
    aes_key     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One vendor auth token per key (`<vendor>/<credential or key id>`), sealed under the master
-- key (kek_id), with the lease of the one instance allowed to refresh it.
CREATE TABLE auth_tokens (
    token_key     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kek_id        TEXT,
    ciphertext    BYTEA,
    expires_at    BIGINT,
    fetched_at    BIGINT,
    lease_owner   TEXT,
    lease_until   BIGINT
);
