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
)

// clock is a settable now for tests of time windows.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", FileName)
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func withClock(s *Store) *clock {
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
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
