-- Files uploaded with a response. The bytes live in the media store under
-- `storage_key` (made from ids, never from the upload); `name` is the
-- sanitised original name, kept as data for the download's disposition.
-- Deleting a response (or its form) deletes these rows; the objects are
-- deleted by the app, by prefix, after the rows are gone.
CREATE TABLE form_response_files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    response_id BLOB NOT NULL REFERENCES form_responses (id) ON DELETE CASCADE,
    form_id BLOB NOT NULL,
    field_key TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX form_response_files_response ON form_response_files (response_id, seq);
