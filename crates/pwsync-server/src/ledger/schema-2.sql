-- pwsync server ledger, schema version 2: the directory's version of each password
-- (msDS-KeyVersionNumber), which orders an account's changes before capture time when both
-- changes carry one. NULL where the client did not know it (PAM hosts, older clients).
ALTER TABLE changes ADD COLUMN directory_version INTEGER;
ALTER TABLE newest ADD COLUMN directory_version INTEGER;
PRAGMA user_version = 2;
