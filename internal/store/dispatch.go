package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Dispatch is a run handed to a remote executor: a workflow_dispatch of
// the workspace repository's run workflow. A run has at most one; a retry
// replaces its token and counts another Attempt.
type Dispatch struct {
	Run int64
	// TokenHash is the SHA-256 of the run's one-time token, hex: the
	// token itself is never stored.
	TokenHash string
	Attempt   int
	// WorkflowRun is the GitHub Actions run building it, and
	// WorkflowURL its page; 0 and "" until GitHub or the job says.
	WorkflowRun  int64
	WorkflowURL  string
	DispatchedAt time.Time
	// StartedAt is when the job fetched its plan; zero until then.
	StartedAt time.Time
	// ResultDigest is the SHA-256 of the result the job posted, and
	// ResultAt when; a second post of the same body is the same result.
	ResultDigest string
	ResultAt     time.Time
	// Ended says why the dispatch ended without a result: cancelled,
	// refused, or lost (its job died or never started).
	Ended string
	// Job is what the job was handed, as the executor encoded it: the
	// pinned plan and the trust decided when it was dispatched.
	Job []byte
}

// Live reports whether the dispatch still waits for its result.
func (d Dispatch) Live() bool { return d.ResultAt.IsZero() && d.Ended == "" }

// liveDispatch is the SQL of Dispatch.Live: RequeueInterrupted leaves
// the runs it holds alone.
const liveDispatch = `result_at = 0 AND ended = ''`

// Errors of a result posted for a run.
var (
	// ErrResultRecorded is a second, different result.
	ErrResultRecorded = errors.New("a different result was already recorded for this run")
	// ErrDispatchEnded is a result for a dispatch that ended without one
	// (cancelled, superseded, lost).
	ErrDispatchEnded = errors.New("the run's build ended before its result came")
)

const dispatchColumns = `run, token_hash, attempt, workflow_run, workflow_url, dispatched_at, started_at, result_digest, result_at, ended, job`

func scanDispatch(row interface{ Scan(...any) error }) (*Dispatch, error) {
	var d Dispatch
	var da, sa, ra int64
	if err := row.Scan(&d.Run, &d.TokenHash, &d.Attempt, &d.WorkflowRun, &d.WorkflowURL, &da, &sa, &d.ResultDigest, &ra, &d.Ended, &d.Job); err != nil {
		return nil, err
	}
	d.DispatchedAt, d.StartedAt, d.ResultAt = fromNanos(da), fromNanos(sa), fromNanos(ra)
	return &d, nil
}

// Dispatch records that the running run id is being handed off, job
// what it is handed, with a token whose hash is tokenHash, before the hand-off is asked of GitHub:
// whatever happens next, the run's token is known to every replica. A
// run dispatched before gets the new token and its next attempt number,
// which comes back.
func (s *Store) Dispatch(ctx context.Context, id int64, tokenHash string, job []byte) (attempt int, err error) {
	err = s.runTx(ctx, fmt.Sprintf("dispatch run %d", id), func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM runs WHERE id = ?`, id).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %d: %w", id, ErrNotFound)
			}
			return err
		}
		if state != "running" {
			return fmt.Errorf("run %d is %s, not running: nothing to dispatch", id, state)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO run_dispatches (run, token_hash, dispatched_at, job) VALUES (?, ?, ?, ?)
ON CONFLICT (run) DO UPDATE SET token_hash = excluded.token_hash, attempt = run_dispatches.attempt + 1, workflow_run = 0, workflow_url = '',
	dispatched_at = excluded.dispatched_at, started_at = 0, result_digest = '', result_at = 0, ended = '', job = excluded.job
RETURNING attempt`, id, tokenHash, toNanos(s.now()), job).Scan(&attempt)
	})
	return attempt, err
}

// GetDispatch returns run id's dispatch, or an error wrapping ErrNotFound.
func (s *Store) GetDispatch(ctx context.Context, id int64) (*Dispatch, error) {
	d, err := scanDispatch(s.r.QueryRowContext(ctx, `SELECT `+dispatchColumns+` FROM run_dispatches WHERE run = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: dispatch of run %d: %w", id, ErrNotFound)
	}
	return d, s.wrap(fmt.Sprintf("dispatch of run %d", id), err)
}

// DispatchOfWorkflowRun returns the dispatch a workflow run builds, or
// an error wrapping ErrNotFound.
func (s *Store) DispatchOfWorkflowRun(ctx context.Context, workflowRun int64) (*Dispatch, error) {
	d, err := scanDispatch(s.r.QueryRowContext(ctx, `SELECT `+dispatchColumns+` FROM run_dispatches WHERE workflow_run = ? AND workflow_run != 0 ORDER BY run DESC LIMIT 1`, workflowRun))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: dispatch of workflow run %d: %w", workflowRun, ErrNotFound)
	}
	return d, s.wrap(fmt.Sprintf("dispatch of workflow run %d", workflowRun), err)
}

// SetWorkflowRun records the workflow run that builds the live attempt
// tokenHash of run id (as GitHub answered the dispatch, or as the job
// said when it started). It reports false when that attempt is over.
func (s *Store) SetWorkflowRun(ctx context.Context, id int64, tokenHash string, workflowRun int64, url string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE run_dispatches SET workflow_run = ?, workflow_url = CASE WHEN ? != '' THEN ? ELSE workflow_url END
WHERE run = ? AND token_hash = ? AND `+liveDispatch, workflowRun, url, url, id, tokenHash)
	return affected(res, err, s.wrap(fmt.Sprintf("set the workflow run of run %d", id), err))
}

// StartDispatch records that the job of the live attempt tokenHash of
// run id started (it fetched its plan), once. It reports false when
// that attempt is over.
func (s *Store) StartDispatch(ctx context.Context, id int64, tokenHash string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE run_dispatches SET started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END
WHERE run = ? AND token_hash = ? AND `+liveDispatch, toNanos(s.now()), id, tokenHash)
	return affected(res, err, s.wrap(fmt.Sprintf("start the dispatch of run %d", id), err))
}

// RecordDispatchResult takes the result whose digest is digest for the
// attempt tokenHash of run id, once: first is true for the post that
// recorded it, false for the same result posted again (a retry, which
// may finish what a crash left undone). A different result after the
// first is ErrResultRecorded; an attempt ended without a result (a
// cancelled or lost job) is an error that says so.
func (s *Store) RecordDispatchResult(ctx context.Context, id int64, tokenHash, digest string) (first bool, err error) {
	err = s.runTx(ctx, fmt.Sprintf("record the result of run %d", id), func(tx *sql.Tx) error {
		d, err := scanDispatch(tx.QueryRowContext(ctx, `SELECT `+dispatchColumns+` FROM run_dispatches WHERE run = ? AND token_hash = ?`, id, tokenHash))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("run %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch {
		case d.Ended != "":
			return fmt.Errorf("run %d (%s): %w", id, d.Ended, ErrDispatchEnded)
		case d.ResultDigest == digest:
			return nil
		case d.ResultDigest != "":
			return ErrResultRecorded
		}
		first = true
		_, err = tx.ExecContext(ctx, `UPDATE run_dispatches SET result_digest = ?, result_at = ? WHERE run = ?`, digest, toNanos(s.now()), id)
		return err
	})
	return first, err
}

// EndDispatch ends the live attempt tokenHash of run id without a
// result, saying why (cancelled, superseded, lost); a result posted
// later is refused. It reports false when that attempt was already
// over, so of two replicas that notice the same dead job only one acts.
func (s *Store) EndDispatch(ctx context.Context, id int64, tokenHash, why string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE run_dispatches SET ended = ? WHERE run = ? AND token_hash = ? AND `+liveDispatch, why, id, tokenHash)
	return affected(res, err, s.wrap(fmt.Sprintf("end the dispatch of run %d", id), err))
}

// Why a dispatch is retried (RetryDispatch).
const (
	// RetryLost: its job died or never started, and posted no result.
	RetryLost = "lost"
	// RetryFlaky: its job posted a failure of known flaky tests only
	// ([workspace.ci].retry_flaky), and the run is built again.
	RetryFlaky = "flaky"
)

// RetryDispatch ends attempt tokenHash of run id, saying why, and
// queues the run again, in one transaction, to be dispatched anew. A
// lost attempt must still wait for its result; a flaky one must have
// posted it. It reports false when that attempt was already over or the
// run no longer runs.
func (s *Store) RetryDispatch(ctx context.Context, id int64, tokenHash, why string) (bool, error) {
	cond := liveDispatch
	if why == RetryFlaky {
		cond = `result_at <> 0 AND ended = ''`
	}
	retried := false
	err := s.runTx(ctx, fmt.Sprintf("retry run %d", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE run_dispatches SET ended = ? WHERE run = ? AND token_hash = ? AND `+cond, why, id, tokenHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		res, err = tx.ExecContext(ctx, `UPDATE runs SET state = 'queued', started_at = 0, step = '', step_at = 0, not_before = ? WHERE id = ? AND state = 'running'`, toNanos(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errors.New("the run no longer runs")
		}
		retried = true
		return nil
	})
	if err != nil && !retried {
		return false, nil
	}
	return retried, err
}

// LiveDispatches are the dispatches that wait for a result while their
// run is still running, oldest first: the ones a watcher checks.
func (s *Store) LiveDispatches(ctx context.Context) ([]Dispatch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("d.", dispatchColumns)+` FROM run_dispatches d JOIN runs r ON r.id = d.run
WHERE r.state = 'running' AND d.`+liveDispatch+` ORDER BY d.run`)
	if err != nil {
		return nil, s.wrap("live dispatches", err)
	}
	defer rows.Close()
	var out []Dispatch
	for rows.Next() {
		d, err := scanDispatch(rows)
		if err != nil {
			return nil, s.wrap("live dispatches", err)
		}
		out = append(out, *d)
	}
	return out, s.wrap("live dispatches", rows.Err())
}

// affected turns an UPDATE's outcome into whether it changed a row.
func affected(res sql.Result, err, wrapped error) (bool, error) {
	if err != nil {
		return false, wrapped
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// WorkflowRunOf is the page of the workflow run that builds (or built)
// run id, and which dispatch of it that is; "" when it has none, or
// GitHub has not said.
func (s *Store) WorkflowRunOf(ctx context.Context, id int64) (url string, attempt int) {
	d, err := s.GetDispatch(ctx, id)
	if err != nil {
		return "", 0
	}
	return d.WorkflowURL, d.Attempt
}
