package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// Several replicas of the service may share one PostgreSQL database. What
// one of them has taken (a delivery it handles, a run it builds, a report
// target it writes to) carries its owner id and a lease: the owner renews
// it while it lives, and once a lease has run out, because its replica was
// killed or cut off, the work goes back to the queue for any replica.
//
// Leases are read by the machine's clock, never a test's: they are about
// whether a process still lives, not about the bot's schedule.

// DefaultLease is how long a replica's claim outlives its last renewal.
const DefaultLease = 30 * time.Second

func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Shared says whether several replicas may share this store: true on
// PostgreSQL; a SQLite file has one process.
func (s *Store) Shared() bool { return s.pg }

// Owner is the id this store's claims carry.
func (s *Store) Owner() string { return s.owner }

// WithLease sets how long this store's claims last without renewal; they
// are renewed every third of it.
func WithLease(d time.Duration) Option {
	return func(s *Store) { s.lease = d }
}

func (s *Store) leaseUntil() int64 { return time.Now().Add(s.lease).UnixNano() }

// leaseLoop renews this store's leases and puts back the work of owners
// whose leases ran out.
func (s *Store) leaseLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
		s.RenewLeases(ctx)
		s.RequeueExpired(ctx)
		cancel()
	}
}

// RenewLeases extends the leases of what this store has claimed.
func (s *Store) RenewLeases(ctx context.Context) error {
	until := s.leaseUntil()
	_, err := s.w.ExecContext(ctx, `UPDATE deliveries SET lease_until = ? WHERE owner = ? AND state = 'processing'`, until, s.owner)
	if err != nil {
		return s.wrap("renew delivery leases", err)
	}
	_, err = s.w.ExecContext(ctx, `UPDATE runs SET lease_until = ? WHERE owner = ? AND state = 'running' AND lease_until > 0`, until, s.owner)
	if err != nil {
		return s.wrap("renew run leases", err)
	}
	_, err = s.w.ExecContext(ctx, `UPDATE leases SET until = ? WHERE owner = ?`, until, s.owner)
	return s.wrap("renew leases", err)
}

// RequeueExpired puts back the work whose owner's lease ran out: running
// runs are queued again (to run from the start) and processing deliveries
// are pending again, unless a delivery has used up its attempts (it may be
// what killed its replica), which is left failed. It returns how many rows
// it moved.
func (s *Store) RequeueExpired(ctx context.Context) (int, error) {
	return s.requeue(ctx, "requeue expired work", `lease_until > 0 AND lease_until < ?`, time.Now().UnixNano())
}

// requeue puts back the running runs and processing deliveries that match
// cond, in one transaction.
func (s *Store) requeue(ctx context.Context, op, cond string, args ...any) (int, error) {
	now := toNanos(s.now())
	var total int64
	err := s.runTx(ctx, op, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			// A run handed to a remote executor is not interrupted: its
			// job goes on (on GitHub Actions) and posts its result to
			// whichever replica answers; a job that died is the dispatch
			// watcher's to find (see LiveDispatches).
			{`UPDATE runs SET state = 'queued', started_at = 0, step = '', step_at = 0, owner = '', lease_until = 0, not_before = ? WHERE state = 'running' AND ` + cond +
				` AND id NOT IN (SELECT run FROM run_dispatches WHERE ` + liveDispatch + `)`, append([]any{now}, args...)},
			{`UPDATE deliveries SET state = 'failed', error = 'interrupted on every attempt', owner = '', lease_until = 0 WHERE state = 'processing' AND attempts >= ? AND ` + cond, append([]any{s.maxDeliveryAttempts}, args...)},
			{`UPDATE deliveries SET state = 'pending', not_before = 0, owner = '', lease_until = 0 WHERE state = 'processing' AND ` + cond, args},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return int(total), err
}

// ClaimName takes the lease called name for this store, when no other
// owner holds it unexpired; it says whether it did. The outbox claims a
// report's target so that two replicas never write one PR's summary at
// once (the first would create the comment the second creates again).
func (s *Store) ClaimName(ctx context.Context, name string) (bool, error) {
	var owner string
	err := s.w.QueryRowContext(ctx, `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
WHERE leases.owner = excluded.owner OR leases.until < ?
RETURNING owner`, name, s.owner, s.leaseUntil(), time.Now().UnixNano()).Scan(&owner)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("claim "+name, err)
	}
	return owner == s.owner, nil
}

// ReleaseName gives up the lease called name, if this store holds it.
func (s *Store) ReleaseName(ctx context.Context, name string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, s.owner)
	return s.wrap("release "+name, err)
}

// StillRunning returns which of ids are still running. A replica asks it
// of the runs it builds: one cancelled or superseded through another
// replica stops here too.
func (s *Store) StillRunning(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	q := `SELECT id FROM runs WHERE state = 'running' AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("runs still running", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap("runs still running", err)
		}
		out[id] = true
	}
	return out, s.wrap("runs still running", rows.Err())
}
