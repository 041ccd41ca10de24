-- The embedded queue (src/queue/embedded): durable messages as rows, for running pushgate
-- without RabbitMQ. migrations/postgres/0002_queue.sql has the same table and columns.
--
-- A row is one message on one queue (`queue` is the full name, e.g. `pushgate.vendor.apns`).
-- `available_at` (unix ms) is the earliest time the row may be handed out: publish time plus
-- delay, and while a consumer holds it, the end of that consumer's lease. So one index finds
-- both new messages and messages whose lease ran out (a crashed consumer's), and a row is in
-- flight exactly while `lease_token` is set and `available_at` lies in the future.
-- `lease_token` names the lease that holds the row; acks, releases and dead-lettering only
-- touch the row while it still carries the caller's token. `deliveries` counts hand-outs;
-- above one the message is flagged as redelivered. Acking deletes the row.

CREATE TABLE queue_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: FIFO order and stable tags
    queue        TEXT NOT NULL,
    body         BLOB NOT NULL,
    headers      TEXT NOT NULL,   -- JSON object of string → string
    available_at INTEGER NOT NULL,
    lease_token  INTEGER,         -- NULL when never handed out or released
    deliveries   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX queue_messages_ready ON queue_messages (queue, available_at, id);
