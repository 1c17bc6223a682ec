-- The demo site's database. site/db.sqlite3 was made from this file with:
--   sqlite3 site/db.sqlite3 < site/schema.sql
-- (or: python3 -c 'import sqlite3; sqlite3.connect("site/db.sqlite3").executescript(open("site/schema.sql").read())')
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    note_id INTEGER NOT NULL REFERENCES notes(id),
    path TEXT NOT NULL
);
INSERT INTO notes (title, body, created) VALUES
    ('Welcome', 'The demo site has five notes.', '2026-11-01T09:00:00Z'),
    ('Backups', 'pg_dump -Fc daily, media to S3.', '2026-11-02T09:00:00Z'),
    ('Restores', 'You cannot really know you can do this unless you have done it.', '2026-11-03T09:00:00Z'),
    ('Rehearsals', 'cairn rehearse dr-rehearsal restores into scratch and checks.', '2026-11-04T09:00:00Z'),
    ('Media', 'Two attachments live in site/media/notes/.', '2026-11-05T09:00:00Z');
INSERT INTO attachments (note_id, path) VALUES
    (5, 'notes/diagram.txt'),
    (5, 'notes/checklist.md');
