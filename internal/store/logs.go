package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Run logs are files, one per run, in the logs directory beside the
// database: appending streams to disk, and reading streams from it, in
// constant memory. In SQLite they cost the database and its WAL their
// whole size again (a 300 MB log made a 309 MB database and a 65 MB
// WAL), and a page read whole them into memory. The runner caps what a
// run writes ([workspace.ci].max_log, with its "[... N bytes cut ...]"
// marker); the store keeps LogReserve of the disk free for what must not
// fail, webhook deliveries.

// LogDirName is the logs directory's name beside the database.
const LogDirName = "logs"

// DefaultLogReserve is the free space logs never take: room for
// thousands of deliveries in the database's WAL.
const DefaultLogReserve = 64 << 20

// ErrDiskLow says a log write was refused to keep LogReserve free.
var ErrDiskLow = errors.New("the disk is nearly full")

// logState is what the store knows of the logs being written.
type logState struct {
	mu      sync.Mutex
	reserve int64
	stopped map[int64]bool // runs whose log was stopped for lack of space
	// free reports the bytes available on dir's file system.
	free func(dir string) (int64, error)
}

// SetLogReserve sets the free space logs must leave on the disk (0:
// none). Half of it is held as the ballast (BallastName).
func (s *Store) SetLogReserve(n int64) {
	s.logs.mu.Lock()
	s.logs.reserve = n
	s.logs.mu.Unlock()
	if s.pg {
		return // logs are rows on the server's disk
	}
	s.ballast.give()
	s.ballast.mu.Lock()
	s.ballast.size = min(n/2, DefaultBallast)
	s.ballast.mu.Unlock()
	s.ballast.take(s.logs.free, n, s.now())
}

func statfsFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// LogDir is where run logs are kept.
func (s *Store) LogDir() string { return filepath.Join(filepath.Dir(s.path), LogDirName) }

func (s *Store) logPath(runID int64) string {
	return filepath.Join(s.LogDir(), strconv.FormatInt(runID, 10)+".log")
}

// AppendLog adds a chunk to a run's log. A write that would leave less
// than the reserve free is refused with an error wrapping ErrDiskLow
// (once, a line saying so ends the log); so is every write after it.
func (s *Store) AppendLog(ctx context.Context, runID int64, chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	if s.pg {
		return s.appendLogRow(ctx, runID, chunk)
	}
	path := s.logPath(runID)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		// The first chunk: the run must exist.
		if _, gerr := s.GetRun(ctx, runID); gerr != nil {
			return fmt.Errorf("store: append log: %w", gerr)
		}
		if err = os.MkdirAll(s.LogDir(), 0o700); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		return fmt.Errorf("store: append to the log of run %d: %w", runID, err)
	}
	defer f.Close()
	if err := s.roomFor(runID, f, int64(len(chunk))); err != nil {
		return err
	}
	if _, err := f.Write(chunk); err != nil {
		return fmt.Errorf("store: append to the log of run %d (%s): %w", runID, path, err)
	}
	return nil
}

// roomFor refuses n more bytes of run's log when they would eat into the
// reserve; the first refusal writes why at the end of the log.
func (s *Store) roomFor(runID int64, f *os.File, n int64) error {
	l := &s.logs
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reserve <= 0 {
		return nil
	}
	free, err := l.free(s.LogDir())
	if err != nil {
		return fmt.Errorf("store: free space of %s: %w", s.LogDir(), err)
	}
	if !l.stopped[runID] && free-n >= l.reserve {
		return nil
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	err = fmt.Errorf("store: the log of run %d stops at %d bytes: %w: %s has %s free, and %s is kept for webhook deliveries "+
		"(fix: free space on that disk, or move --data-dir to a larger one)", runID, size, ErrDiskLow, s.LogDir(), mib(free), mib(l.reserve))
	if !l.stopped[runID] {
		if l.stopped == nil {
			l.stopped = map[int64]bool{}
		}
		l.stopped[runID] = true
		fmt.Fprintf(f, "\n[... log stopped: %s ...]\n", strings.TrimPrefix(err.Error(), "store: "))
	}
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// OpenLog opens a run's log to stream it; a run without one has an empty
// log. Logs written before they were files are read from the database.
// While the run goes on, the reader ends where the log ends now.
func (s *Store) OpenLog(ctx context.Context, runID int64) (io.ReadCloser, error) {
	if s.pg {
		return s.legacyLog(ctx, runID)
	}
	f, err := os.Open(s.logPath(runID))
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: open the log of run %d: %w", runID, err)
	}
	return s.legacyLog(ctx, runID)
}

// appendLogRow keeps a chunk of a log on PostgreSQL, where logs are rows
// so that every replica serves them.
func (s *Store) appendLogRow(ctx context.Context, runID int64, chunk []byte) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO run_logs (run, chunk) VALUES (?, ?)`, runID, chunk); err != nil {
		if _, gerr := s.GetRun(ctx, runID); gerr != nil {
			return fmt.Errorf("store: append log: %w", gerr)
		}
		return s.wrap(fmt.Sprintf("append to the log of run %d", runID), err)
	}
	return nil
}

// legacyLog streams a log kept in the database, chunk by chunk: every
// log on PostgreSQL, and those SQLite kept before logs were files.
func (s *Store) legacyLog(ctx context.Context, runID int64) (io.ReadCloser, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT chunk FROM run_logs WHERE run = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("log of run %d", runID), err)
	}
	return &rowsReader{rows: rows}, nil
}

// rowsReader reads the chunks of a query one at a time.
type rowsReader struct {
	rows *sql.Rows
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if !r.rows.Next() {
			if err := r.rows.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		if err := r.rows.Scan(&r.buf); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *rowsReader) Close() error { return r.rows.Close() }

// Log returns a run's whole log, for small ones (tests); pages stream it
// with OpenLog.
func (s *Store) Log(ctx context.Context, runID int64) ([]byte, error) {
	rc, err := s.OpenLog(ctx, runID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return nil, fmt.Errorf("store: read the log of run %d: %w", runID, err)
	}
	return buf.Bytes(), nil
}

// removeLogs deletes the log files of runs that are gone.
func (s *Store) removeLogs(ids []int64) {
	if s.pg {
		return // rows, gone with their runs
	}
	for _, id := range ids {
		os.Remove(s.logPath(id))
		s.logs.mu.Lock()
		delete(s.logs.stopped, id)
		s.logs.mu.Unlock()
	}
}
