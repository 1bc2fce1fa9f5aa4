package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// HeadKey names one head commit of one PR: "owner/repo#N" and its SHA.
type HeadKey struct {
	PR  string
	SHA string
}

func (k HeadKey) norm() HeadKey {
	return HeadKey{PR: strings.ToLower(k.PR), SHA: strings.ToLower(k.SHA)}
}

// Head is what the store knows of a head: when the bot first saw it, and
// who approved running it (empty when nobody has).
type Head struct {
	HeadKey
	FirstSeen  time.Time
	ApprovedBy string
	ApprovedAt time.Time
}

// SeeHeads records at as the first sighting of every head not seen
// before, and returns what the store knows of each, by key as given. A
// head seen before keeps its first sighting: a later look at the same
// commit cannot move it.
func (s *Store) SeeHeads(ctx context.Context, at time.Time, heads ...HeadKey) (map[HeadKey]Head, error) {
	out := make(map[HeadKey]Head, len(heads))
	if len(heads) == 0 {
		return out, nil
	}
	if at.IsZero() {
		at = s.now()
	}
	err := s.runTx(ctx, "record heads", func(tx *sql.Tx) error {
		for _, k := range heads {
			n := k.norm()
			if n.PR == "" || n.SHA == "" {
				return fmt.Errorf("a head without a PR or SHA: %q@%q", k.PR, k.SHA)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO heads (pr, sha, first_seen) VALUES (?, ?, ?) ON CONFLICT (pr, sha) DO NOTHING`,
				n.PR, n.SHA, toNanos(at)); err != nil {
				return err
			}
			var first, approvedAt int64
			var by string
			if err := tx.QueryRowContext(ctx, `SELECT first_seen, approved_by, approved_at FROM heads WHERE pr = ? AND sha = ?`, n.PR, n.SHA).
				Scan(&first, &by, &approvedAt); err != nil {
				return err
			}
			h := Head{HeadKey: k, FirstSeen: fromNanos(first), ApprovedBy: by}
			if by != "" {
				h.ApprovedAt = fromNanos(approvedAt)
			}
			out[k] = h
		}
		return nil
	})
	return out, err
}

// ApproveHeads records that by approved running heads at at. Only heads
// already seen (SeeHeads) can be approved; approving one again keeps the
// first approval.
func (s *Store) ApproveHeads(ctx context.Context, by string, at time.Time, heads ...HeadKey) error {
	if by == "" {
		return fmt.Errorf("store: approve heads: no approver")
	}
	if at.IsZero() {
		at = s.now()
	}
	return s.runTx(ctx, "approve heads", func(tx *sql.Tx) error {
		for _, k := range heads {
			n := k.norm()
			res, err := tx.ExecContext(ctx, `UPDATE heads SET approved_by = ?, approved_at = ? WHERE pr = ? AND sha = ? AND approved_by = ''`,
				by, toNanos(at), n.PR, n.SHA)
			if err != nil {
				return err
			}
			if c, _ := res.RowsAffected(); c == 0 {
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1 FROM heads WHERE pr = ? AND sha = ?`, n.PR, n.SHA).Scan(&one); err != nil {
					return fmt.Errorf("approve %s@%s: never seen: %w", k.PR, k.SHA, err)
				}
			}
		}
		return nil
	})
}

// PruneHeads deletes the heads first seen before before that nobody
// approved, and the approved ones approved before it, and says how many
// went. A head seen again later is a new sighting, so approval must be
// given again: that is the safe side.
func (s *Store) PruneHeads(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM heads WHERE first_seen < ? AND (approved_by = '' OR approved_at < ?)`, toNanos(before), toNanos(before))
	if err != nil {
		return 0, s.wrap("prune heads", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
