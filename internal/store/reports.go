package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Report states. A report is pending until GitHub accepted it (sent),
// refused it for good (failed), or a newer report for the same target
// took its place (replaced).
const (
	ReportPending  = "pending"
	ReportSent     = "sent"
	ReportFailed   = "failed"
	ReportReplaced = "replaced"
)

// Report is one thing the bot owes GitHub: a state on a head, a summary
// comment on a PR. The store keeps it until it is sent; what it says is
// the bot's (Payload).
type Report struct {
	ID  int64
	Run int64 // the run it reports; 0 for none
	// Target is what the report sets on GitHub, such as one head's status
	// context. A new report for a target replaces its pending one, so
	// reports of one target are never sent out of order.
	Target  string
	Kind    string
	Payload []byte
	State   string
	// Attempts counts failed sends; NotBefore is when to try again.
	Attempts  int
	NotBefore time.Time
	CreatedAt time.Time
	DoneAt    time.Time
	Error     string // why the last send failed
}

const reportColumns = `id, run, target, kind, payload, state, attempts, not_before, created_at, done_at, error`

func scanReport(row interface{ Scan(...any) error }) (*Report, error) {
	var r Report
	var nb, ca, da int64
	if err := row.Scan(&r.ID, &r.Run, &r.Target, &r.Kind, &r.Payload, &r.State, &r.Attempts, &nb, &ca, &da, &r.Error); err != nil {
		return nil, err
	}
	r.NotBefore, r.CreatedAt, r.DoneAt = fromNanos(nb), fromNanos(ca), fromNanos(da)
	return &r, nil
}

// AddReports records reports in one transaction, each replacing the
// pending report of its target; each is due at its NotBefore (zero: now).
func (s *Store) AddReports(ctx context.Context, reports ...Report) error {
	if len(reports) == 0 {
		return nil
	}
	return s.runTx(ctx, "add reports", func(tx *sql.Tx) error { return s.addReports(ctx, tx, reports) })
}

func (s *Store) addReports(ctx context.Context, tx *sql.Tx, reports []Report) error {
	now := toNanos(s.now())
	for _, r := range reports {
		if r.Target == "" || r.Kind == "" {
			return fmt.Errorf("report of run %d without a target or kind", r.Run)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET state = 'replaced', done_at = ? WHERE target = ? AND state = 'pending'`, now, r.Target); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (run, target, kind, payload, created_at, not_before) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Run, r.Target, r.Kind, r.Payload, now, toNanos(r.NotBefore)); err != nil {
			return err
		}
	}
	return nil
}

// PendingReport returns the pending report of target, or nil when it has
// none.
func (s *Store) PendingReport(ctx context.Context, target string) (*Report, error) {
	r, err := scanReport(s.r.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE target = ? AND state = 'pending'`, target))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("pending report of "+target, err)
	}
	return r, nil
}

// DueReports returns up to limit pending reports due at now with ids
// above after, oldest first; a zero now returns them whenever they are
// due.
func (s *Store) DueReports(ctx context.Context, now time.Time, after int64, limit int) ([]Report, error) {
	q, args := `SELECT `+reportColumns+` FROM reports WHERE state = 'pending' AND id > ?`, []any{after}
	if !now.IsZero() {
		q, args = q+` AND not_before <= ?`, append(args, toNanos(now))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, s.wrap("due reports", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, s.wrap("due reports", err)
		}
		out = append(out, *r)
	}
	return out, s.wrap("due reports", rows.Err())
}

// FailedReports are the reports GitHub refused for good, oldest first.
func (s *Store) FailedReports(ctx context.Context) ([]Report, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE state = 'failed' ORDER BY id`)
	if err != nil {
		return nil, s.wrap("failed reports", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, s.wrap("failed reports", err)
		}
		out = append(out, *r)
	}
	return out, s.wrap("failed reports", rows.Err())
}

// ReportSent marks a pending report sent: GitHub accepted it.
func (s *Store) ReportSent(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE reports SET state = 'sent', done_at = ?, error = '' WHERE id = ? AND state = 'pending'`, toNanos(s.now()), id)
	return s.wrap(fmt.Sprintf("mark report %d sent", id), err)
}

// ReportFailed records a failed send of a pending report: it is tried
// again from retry on, or, when giveUp, never again.
func (s *Store) ReportFailed(ctx context.Context, id int64, why string, retry time.Time, giveUp bool) error {
	var err error
	if giveUp {
		_, err = s.w.ExecContext(ctx, `UPDATE reports SET state = 'failed', attempts = attempts + 1, done_at = ?, error = ? WHERE id = ? AND state = 'pending'`,
			toNanos(s.now()), why, id)
	} else {
		_, err = s.w.ExecContext(ctx, `UPDATE reports SET attempts = attempts + 1, not_before = ?, error = ? WHERE id = ? AND state = 'pending'`,
			toNanos(retry), why, id)
	}
	return s.wrap(fmt.Sprintf("record a failed send of report %d", id), err)
}

// NextReportDue returns when the earliest pending report is due; ok is
// false when none is pending.
func (s *Store) NextReportDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var nb sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(not_before) FROM reports WHERE state = 'pending'`).Scan(&nb); err != nil {
		return time.Time{}, false, s.wrap("next report due", err)
	}
	if !nb.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(nb.Int64), true, nil
}

// Backlog is the reports not yet sent.
type Backlog struct {
	Pending int
	// Oldest is when the oldest pending report was written; zero when
	// none is pending.
	Oldest time.Time
}

// ReportBacklog says how many reports are pending and since when.
func (s *Store) ReportBacklog(ctx context.Context) (Backlog, error) {
	var b Backlog
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM reports WHERE state = 'pending'`).Scan(&b.Pending, &oldest)
	if err != nil {
		return Backlog{}, s.wrap("report backlog", err)
	}
	if oldest.Valid {
		b.Oldest = fromNanos(oldest.Int64)
	}
	return b, nil
}

// PruneReports deletes the reports done (sent, failed or replaced)
// before t, and says how many went.
func (s *Store) PruneReports(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM reports WHERE state != 'pending' AND done_at < ?`, toNanos(before))
	if err != nil {
		return 0, s.wrap("prune reports", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CheckRunRecord is the check run the bot keeps for one head and name.
type CheckRunRecord struct {
	Repo, SHA, Name string
	ID              int64
	Run             int64 // the run that created or last updated it
	Completed       bool
}

// CheckRun returns the check run recorded for repo@sha and name; ok is
// false when none was.
func (s *Store) CheckRun(ctx context.Context, repo, sha, name string) (CheckRunRecord, bool, error) {
	c := CheckRunRecord{Repo: repo, SHA: sha, Name: name}
	err := s.r.QueryRowContext(ctx, `SELECT id, run, completed FROM check_runs WHERE repo = ? AND sha = ? AND name = ?`,
		strings.ToLower(repo), sha, name).Scan(&c.ID, &c.Run, &c.Completed)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, s.wrap(fmt.Sprintf("check run %s on %s@%s", name, repo, sha), err)
	}
	return c, true, nil
}

// SetCheckRun records the check run of a head and name.
func (s *Store) SetCheckRun(ctx context.Context, c CheckRunRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO check_runs (repo, sha, name, id, run, completed) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, sha, name) DO UPDATE SET id = excluded.id, run = excluded.run, completed = excluded.completed`,
		strings.ToLower(c.Repo), c.SHA, c.Name, c.ID, c.Run, c.Completed)
	return s.wrap(fmt.Sprintf("record check run %d on %s@%s", c.ID, c.Repo, c.SHA), err)
}
