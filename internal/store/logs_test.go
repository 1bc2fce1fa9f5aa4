package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogsAreFilesBesideTheDatabase(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	chunk := bytes.Repeat([]byte("a line of build output, over and over\n"), 1<<10)
	for i := 0; i < 512; i++ { // 19 MiB
		if err := s.AppendLog(ctx, id, chunk); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(filepath.Dir(path), LogDirName, "1.log"))
	if err != nil || fi.Size() != int64(512*len(chunk)) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log file: %v %v", fi, err)
	}
	var db int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			db += fi.Size()
		}
	}
	// The schema alone is some hundreds of KiB, held twice while a
	// checkpoint has copied the WAL but not yet restarted it; a log kept in
	// the database would add all of its 19 MiB.
	if db > fi.Size()/8 {
		t.Errorf("the database and its WAL take %d bytes after a %d-byte log", db, fi.Size())
	}
	rc, err := s.OpenLog(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != fi.Size() {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
}

func TestLogsWrittenToTheDatabaseStillRead(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	for _, c := range []string{"from before ", "logs were ", "files\n"} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO run_logs (run, chunk) VALUES (?, ?)`, id, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := s.OpenLog(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != "from before logs were files\n" {
		t.Fatalf("legacy log %q %v", got, err)
	}
}

func TestLogsKeepTheReserveFree(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	free := int64(10 << 20)
	s.logs.free = func(string) (int64, error) { return free, nil }
	s.SetLogReserve(8 << 20)
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	other, _, _ := s.EnqueueRun(ctx, Run{Key: "L"}, 0)
	if err := s.AppendLog(ctx, id, []byte("fits\n")); err != nil {
		t.Fatal(err)
	}
	free = 8<<20 + 3
	err := s.AppendLog(ctx, id, []byte("does not fit\n"))
	if !errors.Is(err, ErrDiskLow) || !strings.Contains(err.Error(), "kept for webhook deliveries") || !strings.Contains(err.Error(), "fix: ") {
		t.Fatalf("a write into the reserve: %v", err)
	}
	// Stopped for good, even when space comes back; another run is not.
	free = 100 << 20
	if err := s.AppendLog(ctx, id, []byte("later\n")); !errors.Is(err, ErrDiskLow) {
		t.Fatalf("a write after the log stopped: %v", err)
	}
	if err := s.AppendLog(ctx, other, []byte("other run\n")); err != nil {
		t.Fatal(err)
	}
	log, _ := s.Log(ctx, id)
	if !strings.HasPrefix(string(log), "fits\n\n[... log stopped: the log of run 1 stops at 5 bytes: the disk is nearly full") || strings.Count(string(log), "log stopped") != 1 {
		t.Fatalf("log %q", log)
	}
}
