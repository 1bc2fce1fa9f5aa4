package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CommentID returns the id of the summary comment on repo#number; ok is
// false when none was recorded.
func (s *Store) CommentID(ctx context.Context, repo string, number int) (id int64, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT comment_id FROM comments WHERE repo = ? AND number = ?`, repo, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap(fmt.Sprintf("summary comment of %s#%d", repo, number), err)
	}
	return id, true, nil
}

// SetCommentID records the id of the summary comment on repo#number.
func (s *Store) SetCommentID(ctx context.Context, repo string, number int, id int64) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO comments (repo, number, comment_id) VALUES (?, ?, ?)
ON CONFLICT (repo, number) DO UPDATE SET comment_id = excluded.comment_id`, repo, number, id)
	return s.wrap(fmt.Sprintf("set summary comment of %s#%d", repo, number), err)
}

// Meta returns a small stored value; ok is false when key is unset.
func (s *Store) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, s.wrap("meta "+key, err)
	}
	return value, true, nil
}

// SetMeta stores a small value under key, replacing any before.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.wrap("set meta "+key, err)
}
