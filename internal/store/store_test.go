package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// clock is a settable now for tests of time windows.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// openTest opens an empty store: SQLite, or, under TestPostgres, a new
// PostgreSQL database. The path it returns opens the store again.
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", FileName)
	if onPostgres(t) {
		path = pgtest.DSN(t)
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func withClock(s *Store) *testClock {
	c := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = c.now
	return c
}

func TestOpenSetsPragmasAndSchema(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	for _, c := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
		{"user_version", strconv.Itoa(SchemaVersion)},
	} {
		var got string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Reopening an up-to-date database migrates nothing and keeps data.
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, ok, err := s2.Meta(ctx, "k"); err != nil || !ok || v != "v" {
		t.Fatalf("Meta after reopen = %q %v %v", v, ok, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(context.Background(), path)
	if err == nil {
		t.Fatal("Open of a schema-99 database succeeded")
	}
	if want := "newer than this workspace-bot knows"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestClosedStore(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.AddDelivery(ctx, Delivery{ID: "d", Event: "ping"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddDelivery after Close: %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
	if _, err := s.ClaimDelivery(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("ClaimDelivery after Close: %v, want ErrClosed", err)
	}
}

func TestMetaAndComments(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()

	if _, ok, err := s.Meta(ctx, "missing"); err != nil || ok {
		t.Fatalf("Meta(missing) ok=%v err=%v", ok, err)
	}
	for _, v := range []string{"1", "2"} {
		if err := s.SetMeta(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Meta(ctx, "k"); err != nil || !ok || got != v {
			t.Fatalf("Meta(k) = %q %v %v, want %q", got, ok, err, v)
		}
	}

	if _, ok, err := s.CommentID(ctx, "o/r", 1); err != nil || ok {
		t.Fatalf("CommentID unset: ok=%v err=%v", ok, err)
	}
	if err := s.SetCommentID(ctx, "o/r", 1, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCommentID(ctx, "o/r", 1, 101); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCommentID(ctx, "o/r", 2, 200); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := s.CommentID(ctx, "o/r", 1); err != nil || !ok || id != 101 {
		t.Fatalf("CommentID(o/r#1) = %d %v %v, want 101", id, ok, err)
	}
}

// A database from before runs could wait or be superseded keeps its runs,
// their logs and their ids: superseded runs read as superseded, and a
// pruned run's id is not given out again.
func TestMigrationKeepsRunsLogsAndIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	const before = 4 // the schema before waiting and superseded runs
	for v := 0; v < before; v++ {
		if err := step(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO runs (id, key, state, created_at, superseded) VALUES (1, 'K', 'cancelled', 1, 3), (2, 'K', 'cancelled', 1, 0), (3, 'K', 'success', 1, 0), (9, 'L', 'success', 1, 0)`,
		`INSERT INTO run_logs (run, chunk) VALUES (3, 'tested'), (1, 'stopped')`,
		`DELETE FROM runs WHERE id = 9`, // pruned
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, want := range map[int64]string{1: "superseded", 2: "cancelled", 3: "success"} {
		r, err := s.GetRun(ctx, id)
		if err != nil || r.Label() != want {
			t.Errorf("run %d after the migration: %v %v, want %s", id, r, err, want)
		}
	}
	var logs int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM run_logs`).Scan(&logs); err != nil || logs != 2 {
		t.Errorf("%d logs after the migration (%v), want 2", logs, err)
	}
	id, _, err := s.EnqueueRun(ctx, Run{Key: "M"}, 0)
	if err != nil || id <= 9 {
		t.Errorf("a new run after the migration has id %d (%v): a pruned run's id was given out again", id, err)
	}
	// The cascade still holds: pruning a run takes its log.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM runs WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM run_logs WHERE run = 3`).Scan(&logs); err != nil || logs != 0 {
		t.Errorf("%d logs of a deleted run (%v): the cascade is gone", logs, err)
	}
}
