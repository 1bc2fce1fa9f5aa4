package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
)

// This file is what the queue page reads: the runs of a repository, a
// PR or an author, the step each building run is at, and the changesets
// that wait for an approval of their code.

// RunFilter selects runs by their members. Its fields are matched by one
// member together: Repo with PR is that PR, Repo with Author that
// author's PRs in that repository. Empty fields match everything.
type RunFilter struct {
	Repo   string // owner/name, any case
	PR     int    // with Repo
	Author string // a login, any case
	Key    string // a changeset key, exactly
}

// Empty says the filter selects every run.
func (f RunFilter) Empty() bool { return f == RunFilter{} }

// Matches says whether a changeset of key cs.Key passes the filter.
func (f RunFilter) Matches(cs *changeset.Changeset) bool {
	if f.Empty() {
		return true
	}
	if cs == nil || (f.Key != "" && cs.Key != f.Key) {
		return false
	}
	if f.Repo == "" && f.Author == "" {
		return true
	}
	for _, m := range cs.Members {
		if m.PR == nil {
			continue
		}
		if (f.Repo == "" || strings.EqualFold(m.PR.Repo, f.Repo)) &&
			(f.PR == 0 || m.PR.Number == f.PR) &&
			(f.Author == "" || strings.EqualFold(m.PR.Author, f.Author)) {
			return true
		}
	}
	return false
}

// where is the filter as SQL over runs r.
func (f RunFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Key != "" {
		conds, args = append(conds, "r.key = ?"), append(args, f.Key)
	}
	if f.Repo != "" || f.Author != "" {
		var m []string
		if f.Repo != "" {
			m, args = append(m, "m.repo = ?"), append(args, strings.ToLower(f.Repo))
		}
		if f.PR != 0 {
			m, args = append(m, "m.number = ?"), append(args, f.PR)
		}
		if f.Author != "" {
			m, args = append(m, "m.author = ?"), append(args, strings.ToLower(f.Author))
		}
		conds = append(conds, "r.id IN (SELECT m.run FROM run_members m WHERE "+strings.Join(m, " AND ")+")")
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// setMembers records cs's members as run id's, replacing what was there.
func setMembers(ctx context.Context, tx *sql.Tx, id int64, cs *changeset.Changeset) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_members WHERE run = ?`, id); err != nil {
		return err
	}
	if cs == nil {
		return nil
	}
	for _, m := range cs.Members {
		if m.PR == nil {
			continue
		}
		// Stored in lower case, as filters ask: PostgreSQL has no NOCASE.
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_members (run, repo, number, author) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, strings.ToLower(m.PR.Repo), m.PR.Number, strings.ToLower(m.PR.Author)); err != nil {
			return err
		}
	}
	return nil
}

// MaxLiveList bounds the queued or running runs, and the waiting
// changesets, the queue page lists: the page must stay small whatever
// floods the queue.
const MaxLiveList = 200

// LiveList returns the queued and running runs that pass f, in the order
// workers claim them (oldest first), at most MaxLiveList.
func (s *Store) LiveList(ctx context.Context, f RunFilter) ([]Run, error) {
	w, args := f.where()
	runs, err := queryRuns(ctx, s.r, `SELECT `+prefixed("r.", runColumns)+` FROM runs r WHERE r.state IN ('queued', 'running') AND `+w+` ORDER BY r.id LIMIT ?`,
		append(args, MaxLiveList)...)
	return runs, s.wrap("list live runs", err)
}

// History returns up to limit runs that are no longer queued or running
// and pass f, newest first, older than the run before when it is not 0.
func (s *Store) History(ctx context.Context, f RunFilter, before int64, limit int) ([]Run, error) {
	w, args := f.where()
	q := `SELECT ` + prefixed("r.", runColumns) + ` FROM runs r WHERE r.state NOT IN ('queued', 'running') AND ` + w
	if before > 0 {
		q, args = q+` AND r.id < ?`, append(args, before)
	}
	runs, err := queryRuns(ctx, s.r, q+` ORDER BY r.id DESC LIMIT ?`, append(args, limit)...)
	return runs, s.wrap("list finished runs", err)
}

// QueueCounts is the whole queue in numbers, whatever a page filters.
type QueueCounts struct{ Building, Queued, Waiting int }

// CountQueue counts the running and queued runs and the waiting
// changesets.
func (s *Store) CountQueue(ctx context.Context) (QueueCounts, error) {
	var c QueueCounts
	err := s.r.QueryRowContext(ctx, `SELECT
(SELECT count(*) FROM runs WHERE state = 'running'),
(SELECT count(*) FROM runs WHERE state = 'queued'),
(SELECT count(*) FROM waiting)`).Scan(&c.Building, &c.Queued, &c.Waiting)
	return c, s.wrap("count the queue", err)
}

func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i := range cols {
		cols[i] = p + cols[i]
	}
	return strings.Join(cols, ", ")
}

// SetRunStep records what a building run is doing now and since when,
// for its page and the queue page, which any replica may serve. A run
// no longer building is left as it is.
func (s *Store) SetRunStep(ctx context.Context, id int64, step string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE runs SET step = ?, step_at = ? WHERE id = ? AND state = 'running'`, step, toNanos(at), id)
	return s.wrap(fmt.Sprintf("set run %d step", id), err)
}

// Waiting is a changeset whose untrusted code waits for a trusted
// approval: its members (those not Trusted need the approval) at the
// heads that wait.
type Waiting struct {
	Key       string
	Changeset *changeset.Changeset
	// Run is the run that found its heads unapproved when it started; 0
	// when the trigger did, and no run was queued.
	Run    int64
	Reason string // what asked for a run, for people
	// Needs are the refs of the untrusted members whose heads no
	// approval covers yet: whose code the approval is for.
	Needs []string
	// Command is the config's command word (/workspace), for the page's
	// advice.
	Command string
	// Since is when the changeset began to wait; Updated when it was
	// last found waiting (newer heads, say).
	Since   time.Time
	Updated time.Time
	// RecordError says the stored changeset could not be read.
	RecordError error
}

// memberList is the waiting table's members column: every member's ref
// in lower case on a line of its own, so one ref is found with instr.
func memberList(cs *changeset.Changeset) string {
	var b strings.Builder
	b.WriteString("\n")
	for _, m := range cs.Members {
		if m.PR != nil {
			b.WriteString(strings.ToLower(m.PR.Ref()) + "\n")
		}
	}
	return b.String()
}

// SetWaiting records that w's changeset waits for an approval, keeping
// when it began to.
func (s *Store) SetWaiting(ctx context.Context, w Waiting) error {
	return s.runTx(ctx, "record that "+w.Key+" waits", func(tx *sql.Tx) error {
		return s.setWaiting(ctx, tx, w)
	})
}

func (s *Store) setWaiting(ctx context.Context, tx *sql.Tx, w Waiting) error {
	if w.Key == "" || w.Changeset == nil {
		return errors.New("a waiting changeset needs its key and members")
	}
	cs, err := encode(w.Changeset)
	if err != nil {
		return fmt.Errorf("encode the changeset: %w", err)
	}
	now := toNanos(s.now())
	_, err = tx.ExecContext(ctx, `INSERT INTO waiting (key, run, members, needs, changeset, trigger, command, since, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET run = excluded.run, members = excluded.members, needs = excluded.needs, changeset = excluded.changeset,
	trigger = excluded.trigger, command = excluded.command, updated_at = excluded.updated_at`,
		w.Key, w.Run, memberList(w.Changeset), strings.Join(w.Needs, "\n"), cs, w.Reason, w.Command, now, now)
	return err
}

// clearWaiting deletes the waiting changeset of key and every one that
// holds member: an empty argument selects none.
func clearWaiting(ctx context.Context, tx *sql.Tx, key, member string) error {
	if key != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM waiting WHERE key = ?`, key); err != nil {
			return err
		}
	}
	if member != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM waiting WHERE instr(members, ?) > 0`, "\n"+strings.ToLower(member)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// SettleWaiting is told, after a trigger started from the PR start, the
// keys of the changesets start belongs to now: a waiting changeset that
// holds start and is not one of them was superseded (a PR linked or
// unlinked since) and waits no more.
func (s *Store) SettleWaiting(ctx context.Context, start string, keys []string) error {
	cond, args := `instr(members, ?) > 0`, []any{"\n" + strings.ToLower(start) + "\n"}
	if len(keys) > 0 {
		cond += ` AND key NOT IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
		for _, k := range keys {
			args = append(args, k)
		}
	}
	// Every trigger asks, and nearly always nothing is superseded: a read
	// costs no write to the disk.
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM waiting WHERE `+cond, args...).Scan(&n); err != nil || n == 0 {
		return s.wrap("settle the waiting changesets of "+start, err)
	}
	_, err := s.w.ExecContext(ctx, `DELETE FROM waiting WHERE `+cond, args...)
	return s.wrap("settle the waiting changesets of "+start, err)
}

// WaitingList returns the changesets waiting for an approval that pass
// f, the longest waiting first, at most MaxLiveList.
func (s *Store) WaitingList(ctx context.Context, f RunFilter) ([]Waiting, error) {
	q, args := `SELECT key, run, needs, changeset, trigger, command, since, updated_at FROM waiting`, []any{}
	if f.Key != "" {
		q, args = q+` WHERE key = ?`, append(args, f.Key)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY since, key`, args...)
	if err != nil {
		return nil, s.wrap("list waiting changesets", err)
	}
	defer rows.Close()
	var out []Waiting
	for rows.Next() && len(out) < MaxLiveList {
		var w Waiting
		var cs []byte
		var needs string
		var since, upd int64
		if err := rows.Scan(&w.Key, &w.Run, &needs, &cs, &w.Reason, &w.Command, &since, &upd); err != nil {
			return nil, s.wrap("list waiting changesets", err)
		}
		if needs != "" {
			w.Needs = strings.Split(needs, "\n")
		}
		w.Since, w.Updated = fromNanos(since), fromNanos(upd)
		w.Changeset = new(changeset.Changeset)
		if err := json.Unmarshal(cs, w.Changeset); err != nil {
			w.Changeset = nil
			w.RecordError = fmt.Errorf("the waiting changeset %s could not be read: %w", w.Key, err)
		}
		if f.Matches(w.Changeset) {
			out = append(out, w)
		}
	}
	return out, s.wrap("list waiting changesets", rows.Err())
}

// PruneWaiting deletes the waiting changesets last found waiting before
// t: PRs that went without a close event the bot read.
func (s *Store) PruneWaiting(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM waiting WHERE updated_at < ?`, toNanos(before))
	if err != nil {
		return 0, s.wrap("prune waiting changesets", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
