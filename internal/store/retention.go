package store

import (
	"context"
	"errors"
	"time"
)

// How long the store keeps what the service no longer needs: finished
// deliveries only answer a redelivery as a duplicate (GitHub redelivers up
// to three days back); finished runs keep their pages and logs for a month,
// and the newest run of each changeset always stays (PruneRuns).
const (
	DeliveryRetention = 7 * 24 * time.Hour
	RunRetention      = 30 * 24 * time.Hour
)

// Prune deletes the finished deliveries and runs older than their
// retention at now, and says how many of each went. Heads seen (and
// approved) before the runs' retention go too, and so do changesets
// found waiting for an approval no later than that; reports done are
// kept as long as deliveries, to tell what was sent.
//
// On PostgreSQL one replica prunes at a time: a replica that finds
// another pruning leaves it to that one and returns zeros.
func (s *Store) Prune(ctx context.Context, now time.Time) (deliveries, runs int, err error) {
	if s.pg {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return 0, 0, s.wrap("prune", err)
		}
		defer conn.Close()
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?)`, pruneLock).Scan(&got); err != nil {
			return 0, 0, s.wrap("prune", err)
		}
		if !got {
			return 0, 0, nil
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, pruneLock)
	}
	deliveries, derr := s.PruneDeliveries(ctx, now.Add(-DeliveryRetention))
	runs, rerr := s.PruneRuns(ctx, now.Add(-RunRetention))
	_, herr := s.PruneHeads(ctx, now.Add(-RunRetention))
	_, perr := s.PruneReports(ctx, now.Add(-DeliveryRetention))
	_, werr := s.PruneWaiting(ctx, now.Add(-RunRetention))
	return deliveries, runs, errors.Join(derr, rerr, herr, perr, werr)
}
