-- Server-side sessions. The cookie holds a random token; only its SHA-256
-- is stored, so a copy of this table cannot be replayed as cookies.
CREATE TABLE keel_sessions (
    key_hash TEXT PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES keel_users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX keel_sessions_user ON keel_sessions (user_id);
CREATE INDEX keel_sessions_expiry ON keel_sessions (expires_at);
