-- The online core (online/ crate): client keys, groups, the stored inbox (read diffusion),
-- per-device ack positions and presence. migrations/sqlite/0005_online.sql has the same
-- tables and columns. Conventions as in 0001: TEXT ids, BIGINT unix milliseconds, BYTEA
-- sealed secrets, no booleans.

-- The key that signs an app's client JWTs (one per app). An HS256 secret is sealed by the
-- vault (kek_id, wrapped_dek, ciphertext bound to key_id); RS256/ES256 keep the public PEM.
CREATE TABLE online_client_keys (
    app_id          TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    key_id          TEXT COLLATE "C" NOT NULL,
    alg             TEXT NOT NULL,
    public_key_pem  TEXT,
    kek_id          TEXT,
    wrapped_dek     BYTEA,
    ciphertext      BYTEA,
    fingerprint     TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE online_groups (
    app_id      TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    group_id    TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, group_id)
);

CREATE TABLE online_group_members (
    app_id      TEXT COLLATE "C" NOT NULL,
    group_id    TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (app_id, group_id, user_id),
    FOREIGN KEY (app_id, group_id) REFERENCES online_groups (app_id, group_id) ON DELETE CASCADE
);

-- Each message body once.
CREATE TABLE online_messages (
    app_id          TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    message_id      TEXT COLLATE "C" NOT NULL,
    sender          TEXT COLLATE "C" NOT NULL,
    client_msg_id   TEXT COLLATE "C" NOT NULL,
    to_kind         TEXT NOT NULL,              -- user | group
    to_id           TEXT COLLATE "C" NOT NULL,
    content         TEXT NOT NULL,              -- JSON: text, title, data
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (app_id, message_id)
);
CREATE UNIQUE INDEX online_messages_by_client_id ON online_messages (app_id, sender, client_msg_id);

-- Per-user sequence counter: the inbox head. Updated in the sending transaction, so the
-- sequence is gap-free and strictly increasing also under concurrent senders.
CREATE TABLE online_user_seq (
    app_id      TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    head        BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- The per-recipient index of read diffusion.
CREATE TABLE online_inbox (
    app_id      TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    message_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, user_id, seq)
);

-- Per-device ack positions (sliding window).
CREATE TABLE online_acks (
    app_id      TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    device_id   TEXT COLLATE "C" NOT NULL,
    acked       BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id)
);

-- Where each live connection is (several instances); refreshed by its instance.
CREATE TABLE online_presence (
    app_id      TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    device_id   TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    conn_id     BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id)
);
CREATE INDEX online_presence_by_instance ON online_presence (instance_id);
