-- A form's version: 1 when created, one more with every update, bumped by
-- the UPDATE itself. The public form cache stores it with each entry (an
-- older version never replaces a newer one), and a response is inserted
-- only while the form is still at the version it was validated against.
ALTER TABLE forms ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
