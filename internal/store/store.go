// Package store keeps workspace-bot's durable state in an embedded SQLite
// database: webhook deliveries, the run queue, runs, their logs, fork
// approvals and small bookkeeping such as summary comment ids.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// write that has returned survives a process crash and a machine crash
// alike. A 202 to GitHub means "never send this again", so the promise has
// to hold past a power cut too; the fsync this costs is paid once per batch
// of deliveries (see AddDelivery), not once per delivery.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/provide-io/workspace-bot/internal/backoff"
	"github.com/provide-io/workspace-bot/internal/clock"
)

// FileName is the database's name inside the data directory.
const FileName = "workspace-bot.db"

// Path returns the database path inside dataDir.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Errors callers can test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrClosed   = errors.New("store is closed")
)

// Store is the database. Its methods are safe for concurrent use.
type Store struct {
	// path is the SQLite file; "" on PostgreSQL. name is the database as
	// messages show it (a URL without its password).
	path string
	name string
	pg   bool
	// w is the only connection that writes. SQLite admits one writer at a
	// time, so more writer connections would only queue on the file lock
	// (and spin in busy_timeout) instead of in the pool.
	w *sql.DB
	// r serves reads; WAL lets them run beside the writer.
	r *sql.DB

	insDelivery *sql.Stmt

	adds    chan *addReq
	restart chan chan struct{} // see checkpoint.go

	checkpointEvery time.Duration
	walRestartBytes int
	quit            chan struct{}
	wg              sync.WaitGroup
	closeOnce       sync.Once
	closeErr        error

	now func() time.Time
	// maxDeliveryAttempts bounds retries of a delivery whose handling
	// failed; retryDelay(attempts) spaces them out.
	maxDeliveryAttempts int
	retryDelay          func(attempts int) time.Duration

	logs    logState
	ballast ballast

	// owner is this store's id on what it claims; lease how long a claim
	// outlives its last renewal (leases.go).
	owner string
	lease time.Duration
}

// DefaultMaxDeliveryAttempts is how often a delivery is handled before it
// is left failed.
const DefaultMaxDeliveryAttempts = 3

// Connection roles.
const (
	roleWriter = iota
	roleReader
	roleCheckpointer
)

func dsn(path string, role int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	switch role {
	case roleReader:
		q.Add("_pragma", "query_only(1)")
	case roleWriter:
		q.Add("_pragma", "wal_autocheckpoint(0)") // see checkpoint.go
		// Once the WAL has been checkpointed and restarted, cut the
		// file back to this size.
		q.Add("_pragma", "journal_size_limit(67108864)")
		// Take the write lock at BEGIN so another process holding the
		// file can never turn a read into a failed upgrade mid-transaction.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Option adjusts a Store as Open opens it.
type Option func(*Store)

// WithClock stamps and schedules by c instead of the machine's clock: a
// bot and its store read one clock, so a test moves both.
func WithClock(c clock.Clock) Option {
	return func(s *Store) { s.now = c.Now }
}

// Open opens (creating if needed) the database and brings its schema up
// to date: a SQLite file at path, or, when path is a postgres:// URL, a
// PostgreSQL database that several replicas of the service may share.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, path, func(s *Store) {
		for _, o := range opts {
			o(s)
		}
	})
}

// open is Open with a hook that adjusts the Store before its goroutines
// start, for tests.
func open(ctx context.Context, path string, adjust func(*Store)) (*Store, error) {
	if IsDatabaseURL(path) {
		return openPostgres(ctx, path, adjust)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory %s: %w (check --data-dir and its permissions)", dir, err)
		}
	}
	w, err := sql.Open("sqlite", dsn(path, roleWriter))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := setup(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, roleReader))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	r.SetConnMaxLifetime(0)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	s := newStore(path, w, r)
	s.path = path
	s.logs.free = statfsFree
	s.ballast = ballast{path: filepath.Join(filepath.Dir(path), BallastName), size: DefaultBallast}
	if s.insDelivery, err = w.PrepareContext(ctx, sqlInsertDelivery); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: %s: prepare: %w", path, err)
	}
	ck, err := sql.Open("sqlite", dsn(path, roleCheckpointer))
	if err != nil {
		s.insDelivery.Close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s for checkpoints: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	if adjust != nil {
		adjust(s)
	}
	// A ballast left by an earlier process is taken anew, or given back.
	os.Remove(s.ballast.path)
	s.ballast.take(s.logs.free, s.logs.reserve, s.now())
	s.start(ck)
	return s, nil
}

func newStore(name string, w, r *sql.DB) *Store {
	return &Store{
		name:                name,
		w:                   w,
		r:                   r,
		adds:                make(chan *addReq),
		restart:             make(chan chan struct{}),
		checkpointEvery:     checkpointEvery,
		walRestartBytes:     walRestartBytes,
		quit:                make(chan struct{}),
		now:                 time.Now,
		maxDeliveryAttempts: DefaultMaxDeliveryAttempts,
		retryDelay:          backoff.Policy{First: 5 * time.Second, Max: 5 * time.Minute}.Wait,
		logs:                logState{reserve: DefaultLogReserve},
		ballast:             ballast{}, // none: the database's disk is not ours
		owner:               newOwner(),
		lease:               DefaultLease,
	}
}

// start starts the delivery writer and, on PostgreSQL, the lease keeper,
// or, on SQLite, the checkpointer on ck.
func (s *Store) start(ck *sql.DB) {
	s.wg.Add(1)
	go s.commitLoop()
	// One process owns a SQLite file: what it claimed is its own until
	// it restarts (RequeueInterrupted), so only replicas keep leases.
	if s.pg {
		s.wg.Add(1)
		go s.leaseLoop()
	}
	if ck != nil {
		s.wg.Add(1)
		go s.checkpointLoop(ck)
	}
}

// pageSize suits the rows that dominate the database: webhook payloads of
// 10 to 30 KB take two or three 16 KB pages instead of seven 4 KB ones, and
// every page is a write to the WAL and again at the checkpoint.
const pageSize = 16384

// setup sets what is fixed when the file is created: the page size (which
// only an empty database can change, so it comes first) and WAL mode,
// which persists in the file.
func setup(ctx context.Context, w *sql.DB) error {
	for _, p := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		// Changing the journal mode takes the file's lock without the
		// busy handler: a process opening it at the same moment (a
		// --check-config beside a start) is waited for here.
		// As long as busy_timeout would.
		deadline := time.Now().Add(10 * time.Second)
		for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
			_, err := w.ExecContext(ctx, p)
			if err == nil {
				break
			}
			if !busy(err) || ctx.Err() != nil || time.Now().After(deadline) {
				return fmt.Errorf("%s: %w", p, err)
			}
			time.Sleep(wait)
		}
	}
	return nil
}

// Close stops the delivery writer and the checkpointer, waits for the last
// commit and closes the database. Calls after the first return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.wg.Wait()
		s.insDelivery.Close()
		errW := s.w.Close()
		var errR error
		if s.r != s.w {
			errR = s.r.Close()
		}
		if err := errors.Join(errW, errR); err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.name, err)
		}
	})
	return s.closeErr
}

// Ping checks that the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.name, err)
	}
	return nil
}

func (s *Store) closed() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// Times are stored as Unix nanoseconds; 0 is the zero time.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// wrap names the operation and turns a closed database into ErrClosed.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed() && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("store: %s: %w (%v)", op, ErrClosed, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
