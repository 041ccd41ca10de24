-- The embedded queue (src/queue/embedded): durable messages as rows, for running pushgate
-- without RabbitMQ. migrations/sqlite/0002_queue.sql has the same table and columns.
--
-- A row is one message on one queue (`queue` is the full name, e.g. `pushgate.vendor.apns`).
-- `available_at` (unix ms) is the earliest time the row may be handed out: publish time plus
-- delay, and while a consumer holds it, the end of that consumer's lease. So one index finds
-- both new messages and messages whose lease ran out (a crashed consumer's), and a row is in
-- flight exactly while `lease_token` is set and `available_at` lies in the future.
-- `lease_token` names the lease that holds the row; acks, releases and dead-lettering only
-- touch the row while it still carries the caller's token. `deliveries` counts hand-outs;
-- above one the message is flagged as redelivered. Acking deletes the row. Consumers lease
-- with `FOR UPDATE SKIP LOCKED`, so competing consumers never wait on each other's rows.

CREATE TABLE queue_messages (
    id           BIGSERIAL PRIMARY KEY,
    queue        TEXT COLLATE "C" NOT NULL,
    body         BYTEA NOT NULL,
    headers      TEXT NOT NULL,   -- JSON object of string → string
    available_at BIGINT NOT NULL,
    lease_token  BIGINT,          -- NULL when never handed out or released
    deliveries   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX queue_messages_ready ON queue_messages (queue, available_at, id);
