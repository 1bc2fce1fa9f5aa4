package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Landing is a changeset being landed (/workspace merge): while Gating it
// waits for a run onto the bases that moved; while Merging its members
// are being merged. A restart finds it here and carries it on. It is
// removed when the landing ends, unless it Halted halfway: then it keeps
// what merged, for /workspace revert.
type Landing struct {
	Key   string
	State lifecycle.Landing
	// Changeset is what lands, as it was resolved when asked: once some
	// members have merged, resolving it again no longer finds them.
	Changeset *changeset.Changeset
	// Merged are the members a Halted landing merged.
	Merged []land.Merged
	// Repo#Number is the PR whose comment asked, User who asked and
	// AskedAt when.
	Repo      string
	Number    int
	User      string
	AskedAt   time.Time
	CreatedAt time.Time
}

// SetLanding records l, replacing the key's landing.
func (s *Store) SetLanding(ctx context.Context, l Landing) error {
	cs, err := encode(l.Changeset)
	if err != nil || cs == nil {
		return fmt.Errorf("store: the changeset of the landing of %s: %v", l.Key, err)
	}
	merged, err := json.Marshal(l.Merged)
	if err != nil {
		return fmt.Errorf("store: what the landing of %s merged: %w", l.Key, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO landings (key, state, changeset, merged, repo, number, "user", asked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET state = excluded.state, changeset = excluded.changeset, merged = excluded.merged, repo = excluded.repo, number = excluded.number, "user" = excluded."user", asked_at = excluded.asked_at`,
		l.Key, string(l.State), cs, merged, l.Repo, l.Number, l.User, toNanos(l.AskedAt), toNanos(s.now()))
	return s.wrap("record the landing of "+l.Key, err)
}

// EndLanding removes the key's landing.
func (s *Store) EndLanding(ctx context.Context, key string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM landings WHERE key = ?`, key)
	return s.wrap("end the landing of "+key, err)
}

// GetLanding returns the key's landing, or ErrNotFound.
func (s *Store) GetLanding(ctx context.Context, key string) (*Landing, error) {
	ls, err := s.landings(ctx, `WHERE key = ?`, key)
	if err != nil {
		return nil, err
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("store: landing of %s: %w", key, ErrNotFound)
	}
	return &ls[0], nil
}

// Landings returns every landing not ended, oldest first.
func (s *Store) Landings(ctx context.Context) ([]Landing, error) {
	return s.landings(ctx, `ORDER BY created_at`)
}

func (s *Store) landings(ctx context.Context, where string, args ...any) ([]Landing, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, state, changeset, merged, repo, number, "user", asked_at, created_at FROM landings `+where, args...)
	if err != nil {
		return nil, s.wrap("read landings", err)
	}
	defer rows.Close()
	var out []Landing
	for rows.Next() {
		var l Landing
		var state string
		var cs, merged []byte
		var asked, created int64
		if err := rows.Scan(&l.Key, &state, &cs, &merged, &l.Repo, &l.Number, &l.User, &asked, &created); err != nil {
			return nil, s.wrap("read landings", err)
		}
		if err := json.Unmarshal(cs, &l.Changeset); err != nil {
			return nil, fmt.Errorf("store: the changeset of the landing of %s: %w", l.Key, err)
		}
		if len(merged) > 0 {
			if err := json.Unmarshal(merged, &l.Merged); err != nil {
				return nil, fmt.Errorf("store: what the landing of %s merged: %w", l.Key, err)
			}
		}
		l.State, l.AskedAt, l.CreatedAt = lifecycle.Landing(state), fromNanos(asked), fromNanos(created)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("read landings", err)
	}
	return out, nil
}
