-- The language an account chose for the web interface and its e-mails (issue 7): 'de', 'en',
-- or '' for "follow the browser".
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
