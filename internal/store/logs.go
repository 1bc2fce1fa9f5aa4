package store

import (
	"bytes"
	"context"
	"fmt"
)

// AppendLog adds a chunk to a run's log. Chunks come back from Log in the
// order they were appended.
func (s *Store) AppendLog(ctx context.Context, runID int64, chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO run_logs (run, chunk) VALUES (?, ?)`, runID, chunk); err != nil {
		if _, gerr := s.GetRun(ctx, runID); gerr != nil {
			return fmt.Errorf("store: append log: %w", gerr)
		}
		return s.wrap(fmt.Sprintf("append log of run %d", runID), err)
	}
	return nil
}

// Log returns a run's whole log; a run without one has an empty log.
func (s *Store) Log(ctx context.Context, runID int64) ([]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT chunk FROM run_logs WHERE run = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("log of run %d", runID), err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	for rows.Next() {
		var chunk []byte
		if err := rows.Scan(&chunk); err != nil {
			return nil, s.wrap(fmt.Sprintf("log of run %d", runID), err)
		}
		buf.Write(chunk)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(fmt.Sprintf("log of run %d", runID), err)
	}
	return buf.Bytes(), nil
}
