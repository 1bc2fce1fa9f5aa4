package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Run is one build and test of a changeset.
type Run struct {
	ID  int64
	Key string // changeset key: runs of one key coalesce and exclude each other
	// Heads names the exact heads the run builds, a hash over the pinned
	// SHAs (changeset.Changeset.RunID): runs with the same Heads build
	// the same code.
	Heads string
	// State is where the run is; Ended is how it ended, once State is
	// lifecycle.Done. The store keeps the two in one column: the state
	// while the run is not done, its result after.
	State  lifecycle.State
	Ended  lifecycle.Result
	Reason string // what asked for it, for people: "pull_request synchronize o/r#3"
	// Changeset is what the run builds; Result is how it ended, nil until
	// then. The store encodes them, and decodes them once, when it reads
	// the run.
	Changeset *changeset.Changeset
	Result    *ci.Result
	// Config is the text of the workspace config the run was resolved
	// with, read from ConfigName: the run builds with that config even
	// when the file has changed since.
	Config       []byte
	ConfigName   string
	ConfigRemote bool // read from GitHub, not from a file on disk
	// RecordError says the stored changeset or result could not be read.
	RecordError error
	NotBefore   time.Time // not claimed before this
	CreatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Attempts    int
	// Superseded is the id of the run that replaced this one, when it was
	// cancelled for a newer push.
	Superseded int64
	// AllTests runs every sibling's tests, not only the affected ones
	// (test --all). It sticks to a queued run that later events coalesce
	// into.
	AllTests bool
	// Step is what a building run is doing now, as its builder last said
	// (SetRunStep), and StepAt when that began; "" until it says.
	Step   string
	StepAt time.Time
}

// Final reports whether the run has ended.
func (r Run) Final() bool { return r.State == lifecycle.Done }

// Label is the run's state in one word for lists and pages: its result
// once it ended.
func (r Run) Label() string {
	if r.State == lifecycle.Done {
		return string(r.Ended)
	}
	return string(r.State)
}

// stateOf reads the state column.
func stateOf(col string) (lifecycle.State, lifecycle.Result) {
	switch st := lifecycle.State(col); st {
	case lifecycle.Queued, lifecycle.Building, lifecycle.Waiting:
		return st, ""
	}
	return lifecycle.Done, lifecycle.Result(col)
}

const runColumns = `id, key, run_id, state, trigger, changeset, result, config, config_name, config_remote, not_before, created_at, started_at, finished_at, attempts, superseded, all_tests, step, step_at`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var cs, res []byte
	var nb, ca, sa, fa, st int64
	var state string
	if err := row.Scan(&r.ID, &r.Key, &r.Heads, &state, &r.Reason, &cs, &res, &r.Config, &r.ConfigName, &r.ConfigRemote,
		&nb, &ca, &sa, &fa, &r.Attempts, &r.Superseded, &r.AllTests, &r.Step, &st); err != nil {
		return nil, err
	}
	r.State, r.Ended = stateOf(state)
	r.NotBefore, r.CreatedAt, r.StartedAt, r.FinishedAt = fromNanos(nb), fromNanos(ca), fromNanos(sa), fromNanos(fa)
	r.StepAt = fromNanos(st)
	if len(cs) > 0 {
		r.Changeset = new(changeset.Changeset)
		if err := json.Unmarshal(cs, r.Changeset); err != nil {
			r.Changeset = nil
			r.RecordError = fmt.Errorf("run %d: the changeset record could not be read: %w", r.ID, err)
		}
	}
	if len(res) > 0 {
		r.Result = new(ci.Result)
		if err := json.Unmarshal(res, r.Result); err != nil {
			r.Result = nil
			r.RecordError = errors.Join(r.RecordError, fmt.Errorf("run %d: the result record could not be read: %w", r.ID, err))
		}
	}
	return &r, nil
}

// encode is a record as the store keeps it: JSON, or NULL for none.
func encode[T any](v *T) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func scanRuns(rows *sql.Rows) ([]Run, error) {
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// MaxCoalesce bounds how many coalescing windows a queued run can be
// pushed back by later events of its changeset.
const MaxCoalesce = 5

// held is the not_before of a queued run that must not be claimed yet:
// the trigger that queued it has reports to post first (Release).
const held = math.MaxInt64

// EnqueueRun queues r to start no earlier than window from now. If a run
// with the same Key is still queued, that run takes r's Heads, Reason and
// Changeset and its start moves to now+window instead, and its id comes
// back with coalesced true: a burst of events for one changeset becomes one
// run. r.NotBefore, when later than now+window, is kept.
func (s *Store) EnqueueRun(ctx context.Context, r Run, window time.Duration) (id int64, coalesced bool, err error) {
	err = s.runTx(ctx, "enqueue run "+r.Key, func(tx *sql.Tx) error {
		prev, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE key = ? AND state = 'queued' ORDER BY id DESC LIMIT 1`, r.Key))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		q, err := s.enqueue(ctx, tx, r, window, false, prev)
		id, coalesced = q.ID, q.Coalesced
		return err
	})
	return id, coalesced, err
}

// Triggered is what a trigger decided, in one transaction.
type Triggered struct {
	// Tested is the run that tested these heads already, or tests them
	// now: nothing was queued.
	Tested *Run
	// ID is the queued run, new or Coalesced into; it is held (never
	// claimed) until Release.
	ID        int64
	Coalesced bool
	// Retired are runs, as they were before this trigger, whose heads
	// the trigger's no longer hold: superseded runs, and the queued run
	// coalesced into when it had other heads.
	Retired []Run
	// Superseded are the runs of the key cancelled because they build
	// other heads: running ones when a newer push arrives, a queued one
	// when the running run builds these very heads.
	Superseded []Run
	// Due is when the queued run may start, once released.
	Due time.Time
}

// Trigger carries out, in one transaction, what lifecycle.Decide makes
// of a trigger for r from the runs of r.Key it reads in that transaction:
// skip heads tested already (unless force) or being tested now, or
// coalesce into the key's queued run or queue a new one, held until
// Release; and cancel the runs superseded. Nothing between the reading
// and the writing can change what was decided on: the same heads are
// never cancelled and built again.
func (s *Store) Trigger(ctx context.Context, r Run, force bool, window time.Duration) (Triggered, error) {
	var t Triggered
	err := s.runTx(ctx, "trigger a run of "+r.Key, func(tx *sql.Tx) error {
		t = Triggered{}
		live, err := queryRuns(ctx, tx, `SELECT `+runColumns+` FROM runs WHERE key = ? AND state IN ('queued', 'running') ORDER BY id`, r.Key)
		if err != nil {
			return err
		}
		last, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE key = ? ORDER BY id DESC LIMIT 1`, r.Key))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Heads that reach a trigger may run: the changeset no longer
		// waits for an approval, whatever is decided below.
		if _, err := tx.ExecContext(ctx, `DELETE FROM waiting WHERE key = ?`, r.Key); err != nil {
			return err
		}
		runs, seen := lives(live)
		var newest *lifecycle.Run
		if last != nil {
			runs[last.ID] = last
			l := last.Life()
			newest = &l
		}
		var by int64 // the run that supersedes
		for _, d := range lifecycle.Decide(seen, newest, lifecycle.Trigger{Heads: r.Heads, Force: force}) {
			switch d.Kind {
			case lifecycle.Skip:
				t.Tested, by = runs[d.Run], d.Run
			case lifecycle.Enqueue, lifecycle.Coalesce:
				q, err := s.enqueue(ctx, tx, r, window, true, runs[d.Run])
				if err != nil {
					return err
				}
				t.ID, t.Coalesced, t.Due, by = q.ID, q.Coalesced, q.Due, q.ID
			case lifecycle.Supersede:
				if err := cancel(ctx, tx, d.Run, by, s.now()); err != nil {
					return err
				}
				t.Superseded = append(t.Superseded, *runs[d.Run])
			case lifecycle.Retire:
				t.Retired = append(t.Retired, *runs[d.Run])
			}
		}
		return nil
	})
	return t, err
}

// lives are the runs by id, and what the lifecycle decisions know of each.
func lives(rs []Run) (map[int64]*Run, []lifecycle.Run) {
	byID := map[int64]*Run{}
	seen := make([]lifecycle.Run, len(rs))
	for i := range rs {
		byID[rs[i].ID] = &rs[i]
		seen[i] = rs[i].Life()
	}
	return byID, seen
}

// Life is what the lifecycle decisions know of the run.
func (r Run) Life() lifecycle.Run {
	l := lifecycle.Run{ID: r.ID, Heads: r.Heads, State: r.State, Ended: r.Ended}
	if r.Changeset != nil {
		for _, m := range r.Changeset.Members {
			l.Members = append(l.Members, m.PR.Ref())
		}
	}
	return l
}

// Cancel carries out, in one transaction, what lifecycle.DecideCancel
// makes of c for the live runs of key (of every key when empty), and
// returns the runs it stopped, as they were.
func (s *Store) Cancel(ctx context.Context, key string, c lifecycle.Cancel) ([]Run, error) {
	var stopped []Run
	err := s.runTx(ctx, "cancel runs", func(tx *sql.Tx) error {
		stopped = nil
		live, err := liveRuns(ctx, tx, key)
		if err != nil {
			return err
		}
		// A closed member's changesets wait no more; a cancel command
		// leaves a waiting changeset waiting, as its status still says.
		if err := clearWaiting(ctx, tx, "", c.Member); err != nil {
			return err
		}
		runs, seen := lives(live)
		for _, d := range lifecycle.DecideCancel(seen, c) {
			if err := cancel(ctx, tx, d.Run, 0, s.now()); err != nil {
				return err
			}
			stopped = append(stopped, *runs[d.Run])
		}
		return nil
	})
	return stopped, err
}

// Release lets a queued run held by Trigger start at due.
func (s *Store) Release(ctx context.Context, id int64, due time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE runs SET not_before = ? WHERE id = ? AND state = 'queued' AND not_before = ?`, toNanos(due), id, int64(held))
	return s.wrap(fmt.Sprintf("release run %d", id), err)
}

// queued is what enqueue did.
type queued struct {
	ID        int64
	Coalesced bool
	Due       time.Time
}

// enqueue queues r in tx, or coalesces it into prev, the key's queued
// run, when there is one; with hold, the run is not claimable until
// Release.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, r Run, window time.Duration, hold bool, prev *Run) (queued, error) {
	var q queued
	if r.Key == "" {
		return q, fmt.Errorf("empty changeset key")
	}
	cs, err := encode(r.Changeset)
	if err != nil {
		return q, fmt.Errorf("encode the changeset: %w", err)
	}
	now := s.now()
	nb := now.Add(window)
	if r.NotBefore.After(nb) {
		nb = r.NotBefore
	}
	if prev != nil {
		// A steady stream of events must not postpone a run forever: a
		// queued run waits at most MaxCoalesce windows from its first event.
		if limit := prev.CreatedAt.Add(MaxCoalesce * window); nb.After(limit) && !r.NotBefore.After(limit) {
			nb = limit
		}
		q = queued{ID: prev.ID, Coalesced: true, Due: nb}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET run_id = ?, trigger = ?, changeset = ?, config = ?, config_name = ?, config_remote = ?, not_before = ?, all_tests = all_tests OR ? WHERE id = ?`,
			r.Heads, r.Reason, cs, r.Config, r.ConfigName, r.ConfigRemote, notBefore(nb, hold), r.AllTests, prev.ID)
		if err != nil {
			return q, err
		}
		return q, setMembers(ctx, tx, prev.ID, r.Changeset)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (key, run_id, state, trigger, changeset, config, config_name, config_remote, not_before, created_at, all_tests)
VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`, r.Key, r.Heads, r.Reason, cs, r.Config, r.ConfigName, r.ConfigRemote, notBefore(nb, hold), toNanos(now), r.AllTests)
	if err != nil {
		return q, err
	}
	if q.ID, err = res.LastInsertId(); err != nil {
		return q, err
	}
	q.Due = nb
	return q, setMembers(ctx, tx, q.ID, r.Changeset)
}

func notBefore(t time.Time, hold bool) int64 {
	if hold {
		return held
	}
	return toNanos(t)
}

func cancel(ctx context.Context, tx *sql.Tx, id, supersededBy int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE runs SET state = ?, finished_at = ?, superseded = ? WHERE id = ? AND state IN ('queued', 'running')`,
		cancelledAs(supersededBy), toNanos(now), supersededBy, id)
	return err
}

// cancelledAs is how a cancelled run ends: superseded when a newer run
// took its place.
func cancelledAs(supersededBy int64) lifecycle.Result {
	if supersededBy != 0 {
		return lifecycle.Superseded
	}
	return lifecycle.Cancelled
}

// runTx runs fn in a write transaction, naming op in its error.
func (s *Store) runTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, tx.Commit())
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func queryRuns(ctx context.Context, q querier, query string, args ...any) ([]Run, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanRuns(rows)
}

// ClaimRun marks running and returns the oldest queued run that is due at
// now and whose key has no running run, or nil and nil when there is none.
// Runs of one changeset therefore never build side by side.
func (s *Store) ClaimRun(ctx context.Context, now time.Time) (*Run, error) {
	r, err := scanRun(s.w.QueryRowContext(ctx, `UPDATE runs
SET state = 'running', started_at = ?, attempts = attempts + 1, step = '', step_at = 0
WHERE id = (
	SELECT q.id FROM runs q
	WHERE q.state = 'queued' AND q.not_before <= ?
	AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.key = q.key AND x.state = 'running')
	ORDER BY q.id LIMIT 1)
RETURNING `+runColumns, toNanos(now), toNanos(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("claim run", err)
	}
	return r, nil
}

// NextRunDue returns when the earliest queued run becomes due, so a worker
// can sleep until then; ok is false when nothing is queued.
func (s *Store) NextRunDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var nb sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(not_before) FROM runs WHERE state = 'queued'`).Scan(&nb); err != nil {
		return time.Time{}, false, s.wrap("next run due", err)
	}
	if !nb.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(nb.Int64), true, nil
}

// RunningRuns returns the running runs of key, oldest first.
func (s *Store) RunningRuns(ctx context.Context, key string) ([]Run, error) {
	runs, err := queryRuns(ctx, s.r, `SELECT `+runColumns+` FROM runs WHERE key = ? AND state = 'running' ORDER BY id`, key)
	return runs, s.wrap("running runs of "+key, err)
}

// LiveRuns returns the queued and running runs, oldest first: of key, or
// of every key when key is "".
func (s *Store) LiveRuns(ctx context.Context, key string) ([]Run, error) {
	runs, err := liveRuns(ctx, s.r, key)
	return runs, s.wrap("live runs of "+key, err)
}

func liveRuns(ctx context.Context, db querier, key string) ([]Run, error) {
	q, args := `SELECT `+runColumns+` FROM runs WHERE state IN ('queued', 'running')`, []any{}
	if key != "" {
		q, args = q+` AND key = ?`, append(args, key)
	}
	return queryRuns(ctx, db, q+` ORDER BY id`, args...)
}

// FinishRun records how a run ended and its result JSON, and in the same
// transaction the reports it owes GitHub (AddReports): a result is never
// recorded without them. A run that was cancelled or superseded while it
// ran stays so (its result is kept); a run already finished otherwise is
// an error, since it would report twice.
func (s *Store) FinishRun(ctx context.Context, id int64, ended lifecycle.Result, result *ci.Result, reports ...Report) error {
	if !ended.Valid() || ended == lifecycle.Skipped {
		return fmt.Errorf("store: finish run %d: %q is not how a run ends (use success, failure, error, cancelled or superseded)", id, ended)
	}
	data, err := encode(result)
	if err != nil {
		return fmt.Errorf("store: finish run %d: encode the result: %w", id, err)
	}
	var finished bool
	err = s.runTx(ctx, fmt.Sprintf("finish run %d", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs
SET state = CASE WHEN state IN ('cancelled', 'superseded') THEN state ELSE ? END,
    result = ?,
    finished_at = CASE WHEN finished_at = 0 THEN ? ELSE finished_at END
WHERE id = ? AND state IN ('queued', 'running', 'cancelled', 'superseded')`, ended, data, toNanos(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		finished = true
		return s.addReports(ctx, tx, reports)
	})
	if err != nil {
		return err
	}
	if !finished {
		return s.stateError(ctx, "finish", id)
	}
	return nil
}

// WaitRun records that a run's untrusted code waits for a trusted
// approval: it is not built, and the approval queues a run of its own.
// In the same transaction w, the changeset as it waits, is recorded
// (SetWaiting) with the run's id.
func (s *Store) WaitRun(ctx context.Context, id int64, w Waiting) error {
	waited := false
	err := s.runTx(ctx, fmt.Sprintf("run %d waits", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = 'waiting', finished_at = ? WHERE id = ? AND state IN ('queued', 'running')`, toNanos(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		waited = true
		w.Run = id
		return s.setWaiting(ctx, tx, w)
	})
	if err != nil {
		return err
	}
	if !waited {
		return s.stateError(ctx, "wait", id)
	}
	return nil
}

// CancelRun cancels a queued or running run; supersededBy, when not 0,
// records the run that replaced it, and the run ends superseded. It
// reports false when the run had already finished. The worker running it
// still calls FinishRun.
func (s *Store) CancelRun(ctx context.Context, id, supersededBy int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET state = ?, finished_at = ?, superseded = ?
WHERE id = ? AND state IN ('queued', 'running')`, cancelledAs(supersededBy), toNanos(s.now()), supersededBy, id)
	if err != nil {
		return false, s.wrap(fmt.Sprintf("cancel run %d", id), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetRun(ctx, id); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// Requeue puts a running run back in the queue, to start again from the
// beginning (the service is stopping).
func (s *Store) Requeue(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET state = 'queued', started_at = 0, step = '', step_at = 0 WHERE id = ? AND state = 'running'`, id)
	if err != nil {
		return s.wrap(fmt.Sprintf("requeue run %d", id), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.stateError(ctx, "requeue", id)
	}
	return nil
}

// SetRunChangeset replaces a run's run id and changeset, for a bot that
// resolves the changeset again when the run starts.
func (s *Store) SetRunChangeset(ctx context.Context, id int64, runID string, cs *changeset.Changeset) error {
	data, err := encode(cs)
	if err != nil {
		return fmt.Errorf("store: set run %d changeset: %w", id, err)
	}
	found := false
	err = s.runTx(ctx, fmt.Sprintf("set run %d changeset", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET run_id = ?, changeset = ? WHERE id = ?`, runID, data, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		found = true
		return setMembers(ctx, tx, id, cs)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("store: run %d: %w", id, ErrNotFound)
	}
	return nil
}

func (s *Store) stateError(ctx context.Context, op string, id int64) error {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("store: %s run %d: already %s", op, id, r.Label())
}

// GetRun returns one run; a missing one is an error wrapping ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id int64) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("get run %d", id), err)
	}
	return r, nil
}

// LatestRun returns the newest run of key, or an error wrapping
// ErrNotFound when it never ran.
func (s *Store) LatestRun(ctx context.Context, key string) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE key = ? ORDER BY id DESC LIMIT 1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: runs of %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("latest run of "+key, err)
	}
	return r, nil
}

// RecentRuns returns up to limit runs, newest first.
func (s *Store) RecentRuns(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, s.wrap("recent runs", err)
	}
	runs, err := scanRuns(rows)
	return runs, s.wrap("recent runs", err)
}

// CountRuns counts the runs in state, or every run when state is "".
// Done counts the runs that ended with ended; "" there counts them all.
func (s *Store) CountRuns(ctx context.Context, state lifecycle.State, ended lifecycle.Result) (int, error) {
	switch {
	case state == lifecycle.Done && ended == "":
		var n int
		err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE state NOT IN ('queued', 'running', 'waiting')`).Scan(&n)
		return n, s.wrap("count runs", err)
	case state == lifecycle.Done:
		return s.count(ctx, "runs", string(ended))
	}
	return s.count(ctx, "runs", string(state))
}

// count counts the rows of table (a constant name, never user input) in
// state, or all of them when state is "".
func (s *Store) count(ctx context.Context, table, state string) (int, error) {
	q, args := "SELECT count(*) FROM "+table, []any{}
	if state != "" {
		q, args = q+" WHERE state = ?", append(args, state)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, s.wrap("count "+table, err)
	}
	return n, nil
}

// QueueDepth is the work waiting: pending deliveries plus queued runs.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT
(SELECT count(*) FROM deliveries WHERE state = 'pending') +
(SELECT count(*) FROM runs WHERE state = 'queued')`).Scan(&n)
	if err != nil {
		return 0, s.wrap("queue depth", err)
	}
	return n, nil
}

// Busy counts the work not done: deliveries not yet handled (pending or
// being handled), runs queued or running, and reports GitHub has not yet
// taken. 0 means the service is idle: what has not happened will not,
// until something new arrives.
func (s *Store) Busy(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT
(SELECT count(*) FROM deliveries WHERE state IN ('pending', 'processing')) +
(SELECT count(*) FROM runs WHERE state IN ('queued', 'running')) +
(SELECT count(*) FROM reports WHERE state = 'pending') +
(SELECT count(*) FROM landings WHERE state != 'halted')`).Scan(&n)
	return n, s.wrap("busy", err)
}

// RequeueInterrupted, called once at startup before any worker, puts back
// the work a previous process left half done: running runs are queued
// again (to run from the start) and processing deliveries are pending
// again, unless a delivery has used up its attempts (it may be what killed
// the process), which is left failed. It returns how many rows it moved.
func (s *Store) RequeueInterrupted(ctx context.Context) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap("requeue interrupted work", err)
	}
	defer tx.Rollback()
	now := toNanos(s.now())
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		// A run handed to a remote executor is not interrupted: its job
		// goes on (on GitHub Actions) and posts its result to whichever
		// replica answers; a job that died is the dispatch watcher's to
		// find (see LiveDispatches).
		{`UPDATE runs SET state = 'queued', started_at = 0, step = '', step_at = 0, not_before = ? WHERE state = 'running'
AND id NOT IN (SELECT run FROM run_dispatches WHERE ` + liveDispatch + `)`, []any{now}},
		// A trigger that queued a run and stopped before its reports
		// were out held it; nothing else will release it.
		{`UPDATE runs SET not_before = ? WHERE state = 'queued' AND not_before = ?`, []any{now, int64(held)}},
		{`UPDATE deliveries SET state = 'failed', error = 'interrupted on every attempt' WHERE state = 'processing' AND attempts >= ?`, []any{s.maxDeliveryAttempts}},
		{`UPDATE deliveries SET state = 'pending', not_before = 0 WHERE state = 'processing'`, nil},
	} {
		res, err := tx.ExecContext(ctx, q.sql, q.args...)
		if err != nil {
			return 0, s.wrap("requeue interrupted work", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, s.wrap("requeue interrupted work", err)
	}
	return int(total), nil
}

// PruneRuns deletes finished runs (and their logs) that finished before t,
// keeping the newest run of every changeset: it answers `/workspace status`
// and tells whether heads were already tested. It returns how many went.
func (s *Store) PruneRuns(ctx context.Context, before time.Time) (int, error) {
	rows, err := s.w.QueryContext(ctx, `DELETE FROM runs
WHERE state NOT IN ('queued', 'running') AND finished_at > 0 AND finished_at < ?
AND id NOT IN (SELECT max(id) FROM runs GROUP BY key)
RETURNING id`, toNanos(before))
	if err != nil {
		return 0, s.wrap("prune runs", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, s.wrap("prune runs", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap("prune runs", err)
	}
	s.removeLogs(ids)
	return len(ids), nil
}
