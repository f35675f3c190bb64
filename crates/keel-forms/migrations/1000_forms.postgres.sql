-- Forms and their responses. `seq` orders rows for keyset pagination: it
-- only grows, so a cursor stays correct while new rows arrive.
CREATE TABLE forms (
    seq BIGSERIAL PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    owner_id UUID NOT NULL REFERENCES keel_users (id) ON DELETE CASCADE,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    fields TEXT NOT NULL,
    accepting_responses BOOLEAN NOT NULL,
    notify_owner BOOLEAN NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    embed_origins TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX forms_owner ON forms (owner_id, seq);

CREATE TABLE form_responses (
    seq BIGSERIAL PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    form_id UUID NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    answers TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX form_responses_form ON form_responses (form_id, seq);
