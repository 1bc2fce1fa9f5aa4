package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from user_version i to i+1. Append only:
// a released step is never edited, since databases in the field ran it.
var migrations = []string{
	`
CREATE TABLE deliveries (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,
	event       TEXT NOT NULL,
	action      TEXT NOT NULL DEFAULT '',
	payload     BLOB NOT NULL,
	received_at INTEGER NOT NULL,
	state       TEXT NOT NULL DEFAULT 'pending'
	            CHECK (state IN ('pending', 'processing', 'done', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	not_before  INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_state ON deliveries (state, seq);

CREATE TABLE runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	key         TEXT NOT NULL,
	run_id      TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL
	            CHECK (state IN ('queued', 'running', 'success', 'failure', 'error', 'cancelled')),
	trigger     TEXT NOT NULL DEFAULT '',
	changeset   BLOB,
	result      BLOB,
	not_before  INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	started_at  INTEGER NOT NULL DEFAULT 0,
	finished_at INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	superseded  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_state ON runs (state, id);
CREATE INDEX runs_key ON runs (key, state);

CREATE TABLE run_logs (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	run    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	chunk  BLOB NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run, seq);

CREATE TABLE approvals (
	key  TEXT NOT NULL,
	shas TEXT NOT NULL,
	by   TEXT NOT NULL,
	at   INTEGER NOT NULL,
	PRIMARY KEY (key, shas)
);

CREATE TABLE comments (
	repo       TEXT NOT NULL,
	number     INTEGER NOT NULL,
	comment_id INTEGER NOT NULL,
	PRIMARY KEY (repo, number)
);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// A run keeps the config it was resolved with.
	`
ALTER TABLE runs ADD COLUMN config BLOB;
ALTER TABLE runs ADD COLUMN config_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN config_remote INTEGER NOT NULL DEFAULT 0;
`,
	// Each head a PR had, when the bot first saw it and who approved it:
	// an approval covers only heads seen before the approving comment.
	`
CREATE TABLE heads (
	pr          TEXT NOT NULL,
	sha         TEXT NOT NULL,
	first_seen  INTEGER NOT NULL,
	approved_by TEXT NOT NULL DEFAULT '',
	approved_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (pr, sha)
);
CREATE INDEX heads_first_seen ON heads (first_seen);
`,
	// Reports are an outbox: what the bot owes GitHub, written with the
	// run's result and marked sent once GitHub accepted it. At most one
	// report per target is pending: a newer one replaces it.
	`
CREATE TABLE reports (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	run        INTEGER NOT NULL DEFAULT 0,
	target     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	payload    BLOB NOT NULL,
	state      TEXT NOT NULL DEFAULT 'pending'
	           CHECK (state IN ('pending', 'sent', 'failed', 'replaced')),
	created_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	not_before INTEGER NOT NULL DEFAULT 0,
	done_at    INTEGER NOT NULL DEFAULT 0,
	error      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reports_pending_target ON reports (target) WHERE state = 'pending';
CREATE INDEX reports_due ON reports (state, not_before, id);

CREATE TABLE check_runs (
	repo      TEXT NOT NULL,
	sha       TEXT NOT NULL,
	name      TEXT NOT NULL,
	id        INTEGER NOT NULL,
	run       INTEGER NOT NULL DEFAULT 0,
	completed INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (repo, sha, name)
);
`,
	// A run can wait for an approval of its code, and a run replaced by a
	// newer one ends superseded, not cancelled. SQLite cannot change a
	// CHECK, so runs is copied; run_logs is copied first, since dropping
	// runs under it would delete every log through its cascade.
	`
CREATE TABLE runs_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	key           TEXT NOT NULL,
	run_id        TEXT NOT NULL DEFAULT '',
	state         TEXT NOT NULL
	              CHECK (state IN ('queued', 'running', 'waiting', 'success', 'failure', 'error', 'cancelled', 'superseded')),
	trigger       TEXT NOT NULL DEFAULT '',
	changeset     BLOB,
	result        BLOB,
	not_before    INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	started_at    INTEGER NOT NULL DEFAULT 0,
	finished_at   INTEGER NOT NULL DEFAULT 0,
	attempts      INTEGER NOT NULL DEFAULT 0,
	superseded    INTEGER NOT NULL DEFAULT 0,
	config        BLOB,
	config_name   TEXT NOT NULL DEFAULT '',
	config_remote INTEGER NOT NULL DEFAULT 0
);
INSERT INTO runs_new (id, key, run_id, state, trigger, changeset, result, not_before, created_at, started_at, finished_at, attempts, superseded, config, config_name, config_remote)
SELECT id, key, run_id, CASE WHEN state = 'cancelled' AND superseded != 0 THEN 'superseded' ELSE state END,
       trigger, changeset, result, not_before, created_at, started_at, finished_at, attempts, superseded, config, config_name, config_remote
FROM runs;
CREATE TABLE run_logs_new (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	run    INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
	chunk  BLOB NOT NULL
);
INSERT INTO run_logs_new (seq, run, chunk) SELECT seq, run, chunk FROM run_logs;
-- Run ids are in links and check runs: a pruned run's id is never reused.
DELETE FROM sqlite_sequence WHERE name IN ('runs_new', 'run_logs_new');
INSERT INTO sqlite_sequence (name, seq) SELECT name || '_new', seq FROM sqlite_sequence WHERE name IN ('runs', 'run_logs');
DROP TABLE run_logs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE run_logs_new RENAME TO run_logs;
CREATE INDEX runs_state ON runs (state, id);
CREATE INDEX runs_key ON runs (key, state);
CREATE INDEX run_logs_run ON run_logs (run, seq);
`,
	`
CREATE TABLE landings (
	key        TEXT PRIMARY KEY,
	state      TEXT NOT NULL CHECK (state IN ('gating', 'merging', 'halted')),
	changeset  BLOB NOT NULL,
	merged     BLOB,
	repo       TEXT NOT NULL,
	number     INTEGER NOT NULL,
	user       TEXT NOT NULL,
	asked_at   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
`,
	`
ALTER TABLE runs ADD COLUMN all_tests INTEGER NOT NULL DEFAULT 0;
`,
	`
CREATE TABLE test_suites (
	run      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	heads    TEXT NOT NULL,
	suite    TEXT NOT NULL,
	complete INTEGER NOT NULL,
	PRIMARY KEY (run, suite)
);
CREATE INDEX test_suites_heads ON test_suites (heads, suite, run);
CREATE TABLE test_failures (
	run   INTEGER NOT NULL,
	suite TEXT NOT NULL,
	test  TEXT NOT NULL,
	PRIMARY KEY (run, suite, test),
	FOREIGN KEY (run, suite) REFERENCES test_suites (run, suite) ON DELETE CASCADE
);
CREATE TABLE flaky_tests (
	suite     TEXT NOT NULL,
	test      TEXT NOT NULL,
	first_run INTEGER NOT NULL,
	last_run  INTEGER NOT NULL,
	flips     INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (suite, test)
);
`,
	// The queue page: the step a building run is at; the members of every
	// run, so runs filter by repository, PR and author without decoding
	// each changeset (filled from the stored changesets here); and the
	// changesets that wait for an approval, which have no queued run.
	`
ALTER TABLE runs ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN step_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE run_members (
	run    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	repo   TEXT NOT NULL COLLATE NOCASE,
	number INTEGER NOT NULL,
	author TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
	PRIMARY KEY (run, repo, number)
);
CREATE INDEX run_members_pr ON run_members (repo, number, run);
CREATE INDEX run_members_author ON run_members (author, run);
INSERT OR IGNORE INTO run_members (run, repo, number, author)
SELECT r.id, json_extract(m.value, '$.PR.Repo'), json_extract(m.value, '$.PR.Number'), coalesce(json_extract(m.value, '$.PR.Author'), '')
FROM runs r, json_each(CAST(r.changeset AS TEXT), '$.Members') m
WHERE r.changeset IS NOT NULL AND json_valid(CAST(r.changeset AS TEXT))
AND json_type(m.value, '$.PR.Repo') = 'text' AND json_type(m.value, '$.PR.Number') = 'integer';
CREATE TABLE waiting (
	key        TEXT PRIMARY KEY,
	run        INTEGER NOT NULL DEFAULT 0,
	members    TEXT NOT NULL,
	needs      TEXT NOT NULL DEFAULT '',
	changeset  BLOB NOT NULL,
	trigger    TEXT NOT NULL DEFAULT '',
	command    TEXT NOT NULL DEFAULT '',
	since      INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
`,
	// Replicas on PostgreSQL: what a replica has taken carries its id and
	// a lease (leases.go). SQLite keeps the same columns so one set of
	// queries serves both.
	`
ALTER TABLE deliveries ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE TABLE leases (
	name  TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	until INTEGER NOT NULL
);
`,
	// A run handed to a remote executor (a GitHub Actions workflow run):
	// the hash of its one-time token, the workflow run building it, and
	// how far it got. It lives here, not in the process that dispatched
	// it, so any replica can take its result or notice it died.
	`
CREATE TABLE run_dispatches (
	run           INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	token_hash    TEXT NOT NULL,
	attempt       INTEGER NOT NULL DEFAULT 1,
	workflow_run  INTEGER NOT NULL DEFAULT 0,
	workflow_url  TEXT NOT NULL DEFAULT '',
	dispatched_at INTEGER NOT NULL,
	started_at    INTEGER NOT NULL DEFAULT 0,
	result_digest TEXT NOT NULL DEFAULT '',
	result_at     INTEGER NOT NULL DEFAULT 0,
	ended         TEXT NOT NULL DEFAULT '',
	job           BLOB
);
CREATE INDEX run_dispatches_workflow_run ON run_dispatches (workflow_run);
`,
}

// SchemaVersion is the user_version this build brings a database to.
var SchemaVersion = len(migrations)

func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema %d is newer than this workspace-bot knows (%d): run a newer workspace-bot or point --data-dir elsewhere", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if err := step(ctx, db, v); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	return nil
}

func step(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The transaction holds the write lock: a process that migrated the
	// file meanwhile is seen here, and its step is not run twice.
	var now int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); err != nil {
		return err
	}
	if now > v {
		return nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return err
	}
	// user_version lives in the file header and changes with the
	// transaction, so a crash leaves either both or neither.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return err
	}
	return tx.Commit()
}
