-- pwsync server ledger, the tables of schema version 1, created if missing. Never holds a
-- password, in any form.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;

-- Every change the server has seen, and what became of it.
CREATE TABLE IF NOT EXISTS changes (
    id              TEXT PRIMARY KEY,
    account_key     TEXT NOT NULL,      -- "domain\account", case-folded
    domain          TEXT NOT NULL,
    account         TEXT NOT NULL,
    captured_at_ns  INTEGER NOT NULL,
    origin          TEXT NOT NULL,
    origin_seq      INTEGER NOT NULL,
    source          TEXT NOT NULL,
    client          TEXT NOT NULL,      -- certificate name of the client that first submitted it
    received_at_ns  INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'superseded', 'rejected')),
    reason          TEXT,
    superseded_by   TEXT,
    settled_at_ns   INTEGER
);
CREATE INDEX IF NOT EXISTS changes_by_account ON changes (account_key, captured_at_ns);
CREATE INDEX IF NOT EXISTS changes_by_state ON changes (state);

-- The newest change of each account: the newest-wins watermark.
CREATE TABLE IF NOT EXISTS newest (
    account_key     TEXT PRIMARY KEY,
    captured_at_ns  INTEGER NOT NULL,
    origin          TEXT NOT NULL,
    origin_seq      INTEGER NOT NULL,
    change_id       TEXT NOT NULL
);

-- Per change and target: the last outcome. A target is retried only while its row is 'retry'.
CREATE TABLE IF NOT EXISTS target_results (
    change_id       TEXT NOT NULL REFERENCES changes (id),
    target          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('applied', 'rejected', 'retry')),
    reason          TEXT,
    attempts        INTEGER NOT NULL,
    latency_us      INTEGER NOT NULL,
    updated_at_ns   INTEGER NOT NULL,
    PRIMARY KEY (change_id, target)
);

-- Security and operations events: refused clients, refused changes, configuration errors.
CREATE TABLE IF NOT EXISTS audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns           INTEGER NOT NULL,
    event           TEXT NOT NULL,
    client          TEXT,
    peer            TEXT,
    change_id       TEXT,
    account_key     TEXT,
    detail          TEXT NOT NULL
);

-- Each client's last status report (POST /v1/client-status): counts and times only.
CREATE TABLE IF NOT EXISTS client_reports (
    client                          TEXT PRIMARY KEY,
    version                         TEXT NOT NULL,
    reported_at_ns                  INTEGER NOT NULL,
    spool_depth                     INTEGER NOT NULL,
    oldest_pending_captured_at_ns   INTEGER,
    failed                          INTEGER NOT NULL
);

-- Which client still holds which failed record (from its last report): where a retry can go.
CREATE TABLE IF NOT EXISTS client_failed (
    client          TEXT NOT NULL,
    change_id       TEXT NOT NULL,
    PRIMARY KEY (client, change_id)
);

-- Retries an operator asked for; handed to the client with its next status report.
CREATE TABLE IF NOT EXISTS operator_retries (
    change_id       TEXT PRIMARY KEY,
    client          TEXT NOT NULL,
    requested_at_ns INTEGER NOT NULL,
    delivered_at_ns INTEGER
);

-- The version (PRAGMA user_version) is set by the migration code, not here: this file runs at
-- every start (it also sets the connection's pragmas) and must not turn a newer ledger back.
