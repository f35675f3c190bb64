-- The outbox: emails and webhooks written in the same transaction as the
-- data they are about, delivered afterwards by the worker. A row is
-- `pending` until `delivered`, or `dead` after its last failed attempt.
-- `locked_until` is a claim's lease: while it is in the future one worker
-- owns the row; once it passes (the worker died) the row is claimable again.
-- Times are unix milliseconds. `last_error` holds a short reason, never a
-- secret, a body or an address.
CREATE TABLE keel_outbox (
    id UUID PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
-- The claim query reads only due pending rows, oldest first.
CREATE INDEX keel_outbox_due ON keel_outbox (next_attempt_at) WHERE status = 'pending';
