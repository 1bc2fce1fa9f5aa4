package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Suite is what one test step of a run reported: the tests that failed.
type Suite struct {
	// Name is the step's title ("test pyvider").
	Name   string
	Failed []string
	// Complete: every failing test is named (none left out at a limit),
	// so a test not in Failed did not fail.
	Complete bool
}

// FlakyMark is what the store knows of a failing test it holds as flaky:
// in how many of the last runs at the same heads it failed.
type FlakyMark struct {
	Failed, Runs int
}

// flakyWindow is how many runs at the same heads a mark counts over.
const flakyWindow = 10

// FlakyKey is how RecordTests names a test in what it returns.
func FlakyKey(suite, test string) string { return suite + "\x00" + test }

// RecordTests records the suites run reported at heads (the pinned
// head and base commits of every checkout), and returns, for each of its
// failing tests held as flaky, how often it failed at these heads. A test
// becomes flaky when it failed in an earlier run at the same heads and,
// in this run's complete suite, did not: the same code gave two
// outcomes. Recording a run again changes nothing.
func (s *Store) RecordTests(ctx context.Context, run int64, heads string, suites []Suite) (map[string]FlakyMark, error) {
	marks := map[string]FlakyMark{}
	err := s.runTx(ctx, fmt.Sprintf("record the tests of run %d", run), func(tx *sql.Tx) error {
		var seen int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM test_suites WHERE run = ?`, run).Scan(&seen); err != nil {
			return err
		}
		for _, su := range suites {
			if seen == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO test_suites (run, heads, suite, complete) VALUES (?, ?, ?, ?)`, run, heads, su.Name, su.Complete); err != nil {
					return err
				}
				for _, t := range su.Failed {
					if _, err := tx.ExecContext(ctx, `INSERT INTO test_failures (run, suite, test) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, run, su.Name, t); err != nil {
						return err
					}
				}
			}
			if su.Complete {
				// Failed here before, at these heads; not now.
				if _, err := tx.ExecContext(ctx, `
INSERT INTO flaky_tests (suite, test, first_run, last_run)
SELECT DISTINCT f.suite, f.test, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM test_failures f JOIN test_suites p ON p.run = f.run AND p.suite = f.suite
WHERE p.heads = ? AND p.suite = ? AND f.run < ?
  AND f.test NOT IN (SELECT test FROM test_failures WHERE run = ? AND suite = ?)
ON CONFLICT (suite, test) DO UPDATE SET last_run = excluded.last_run, flips = flaky_tests.flips + 1 WHERE flaky_tests.last_run < excluded.last_run`,
					run, run, heads, su.Name, run, run, su.Name); err != nil {
					return err
				}
			}
			for _, t := range su.Failed {
				if known, err := isFlaky(ctx, tx, su.Name, t); err != nil || !known {
					if err != nil {
						return err
					}
					continue
				}
				var m FlakyMark
				if err := tx.QueryRowContext(ctx, `
SELECT count(*), count(f.test) FROM (SELECT run FROM test_suites WHERE heads = ? AND suite = ? AND run <= ? ORDER BY run DESC LIMIT ?) r
LEFT JOIN test_failures f ON f.run = r.run AND f.suite = ? AND f.test = ?`, heads, su.Name, run, flakyWindow, su.Name, t).Scan(&m.Runs, &m.Failed); err != nil {
					return err
				}
				marks[FlakyKey(su.Name, t)] = m
			}
		}
		return nil
	})
	return marks, err
}

// FlakyTests counts the tests held as flaky.
func (s *Store) FlakyTests(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM flaky_tests`).Scan(&n); err != nil {
		return 0, s.wrap("count flaky tests", err)
	}
	return n, nil
}

// KnownFlaky says which of the suites' failing tests are held as flaky,
// by FlakyKey, recording nothing.
func (s *Store) KnownFlaky(ctx context.Context, suites []Suite) (map[string]bool, error) {
	out := map[string]bool{}
	for _, su := range suites {
		for _, t := range su.Failed {
			known, err := isFlaky(ctx, s.r, su.Name, t)
			if err != nil {
				return nil, s.wrap("read flaky tests", err)
			}
			if known {
				out[FlakyKey(su.Name, t)] = true
			}
		}
	}
	return out, nil
}

// isFlaky says whether the store holds test of suite as flaky.
func isFlaky(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, suite, test string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM flaky_tests WHERE suite = ? AND test = ?`, suite, test).Scan(&n)
	return n > 0, err
}
