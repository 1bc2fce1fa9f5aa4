package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL holds the state of several replicas of the service: the
// same queries as SQLite (written once, in SQLite's `?` style and
// rewritten per connection), its own schema, and locks where SQLite's
// single writer made one unnecessary.
//
// What differs, and why:
//   - SQLite admits one writer, so a transaction that reads the queue and
//     then changes it (a trigger's coalescing and superseding, a claim, a
//     cancel) is serial for free. On PostgreSQL every such transaction
//     first takes one transaction-scoped advisory lock (queueLock): they
//     are a few a second, and serial they decide as SQLite does.
//   - Deliveries, the hot path, take no such lock: a claim skips rows
//     another replica holds (FOR UPDATE SKIP LOCKED) and leases them.
//   - Logs are rows, not files beside the database: any replica serves a
//     run's page, and the replicas need not share a disk.

// IsDatabaseURL says whether database names a PostgreSQL server rather
// than a SQLite file.
func IsDatabaseURL(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// RedactURL is database as logs and errors may show it: without its
// password.
func RedactURL(database string) string {
	u, err := url.Parse(database)
	if err != nil {
		return "a PostgreSQL URL that does not parse"
	}
	return u.Redacted()
}

// Advisory lock keys, fixed so every replica takes the same ones.
const (
	migrateLock = 0x77627331 // "wbs1": applying migrations
	queueLock   = 0x77627332 // a transaction that decides over runs
	pruneLock   = 0x77627333 // one replica prunes at a time
)

// connectPostgres opens database and checks that it answers; wrap turns
// the driver's connector into the one the pool uses. Its errors, like
// every error here, name the database without its password.
func connectPostgres(ctx context.Context, database string, wrap func(driver.Connector) driver.Connector) (*sql.DB, string, error) {
	name := RedactURL(database)
	cfg, err := pgx.ParseConfig(database)
	if err != nil {
		// pgx quotes the URL in some errors: say only that it is wrong.
		return nil, name, fmt.Errorf("store: %s: the database URL does not parse (fix --database or WORKSPACE_BOT_DATABASE: postgres://user:password@host:5432/dbname)", name)
	}
	db := sql.OpenDB(wrap(stdlib.GetConnector(*cfg)))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, name, fmt.Errorf("store: %s: cannot reach the database: %s (check that the server runs, the URL's host, port, user and password, and that the database exists)", name, redactErr(err, database))
	}
	return db, name, nil
}

func openPostgres(ctx context.Context, database string, adjust func(*Store)) (*Store, error) {
	db, name, err := connectPostgres(ctx, database, func(c driver.Connector) driver.Connector { return rebinder{c} })
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %s", name, redactErr(err, database))
	}
	s := newStore(name, db, db)
	s.pg = true
	if adjust != nil {
		adjust(s)
	}
	if s.insDelivery, err = db.PrepareContext(ctx, sqlInsertDelivery); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: prepare: %w", name, err)
	}
	s.start(nil)
	return s, nil
}

// redactErr is err's text with database's password, should a driver
// quote it, taken out.
func redactErr(err error, database string) string {
	msg := err.Error()
	if u, perr := url.Parse(database); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// migratePostgres brings the schema up to date under a session advisory
// lock, so replicas starting together apply each migration once.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrateLock); err != nil {
		return fmt.Errorf("lock the schema: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrateLock)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create the schema version table: %w", err)
	}
	var v int
	switch err := conn.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("read the schema version: %w", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("database schema %d is newer than this workspace-bot knows (%d): run a newer workspace-bot on every replica, or point --database elsewhere", v, SchemaVersion)
	}
	for v < SchemaVersion {
		next, ddl := pgBaseVersion, pgBase
		if v >= pgBaseVersion {
			next, ddl = v+1, pgMigrations[v-pgBaseVersion]
		} else if v != 0 {
			return fmt.Errorf("database schema %d was never written by a PostgreSQL workspace-bot", v)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema %d to %d: %w", v, next, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, next); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, next, err)
		}
		v = next
	}
	return nil
}

// rebinder opens connections whose queries are rewritten from SQLite's
// dialect: `?` placeholders become `$n`, instr becomes strpos, and the
// `/*skip locked*/` marker becomes the row lock SQLite has no use for.
type rebinder struct{ driver.Connector }

func (r rebinder) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return rebound{c.(*stdlib.Conn)}, nil
}

// rebound is a pgx connection that takes SQLite-style queries. Embedding
// keeps every optional interface the driver implements.
type rebound struct{ *stdlib.Conn }

func (c rebound) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(q)) }

func (c rebound) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(q))
}

func (c rebound) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(q), args)
}

func (c rebound) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(q), args)
}

// CheckNamedValue stores a Go bool as the 0 or 1 the schema's integer
// columns hold, as SQLite's driver does.
func (c rebound) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return c.Conn.CheckNamedValue(nv)
}

var rebindCache sync.Map // query -> rewritten query

// rebind rewrites a query from SQLite's dialect to PostgreSQL's; see
// rebinder. The store's queries are a fixed set, so each is rewritten once.
func rebind(q string) string {
	if v, ok := rebindCache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case ch == '\'':
			inString = !inString
		case ch == '?' && !inString:
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(ch)
	}
	out := strings.ReplaceAll(b.String(), "instr(", "strpos(")
	out = strings.ReplaceAll(out, "/*skip locked*/", "FOR UPDATE SKIP LOCKED")
	rebindCache.Store(q, out)
	return out
}

// lockKey turns a name into an advisory lock key.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// probePostgres is ProbeDatabase for a PostgreSQL URL: it connects and
// reads the schema version, creating nothing.
func probePostgres(ctx context.Context, database string) (Probe, error) {
	db, name, err := connectPostgres(ctx, database, func(c driver.Connector) driver.Connector { return c })
	if err != nil {
		return Probe{}, err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return Probe{}, fmt.Errorf("store: %s: read the schema: %s", name, redactErr(err, database))
	}
	if !exists {
		return Probe{}, nil
	}
	p := Probe{Exists: true}
	if err := db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&p.Version); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("store: %s: read the schema version: %s", name, redactErr(err, database))
	}
	if p.Version > SchemaVersion {
		return p, fmt.Errorf("store: %s: database schema %d is newer than this workspace-bot knows (%d): run a newer workspace-bot on every replica, or point --database elsewhere", name, p.Version, SchemaVersion)
	}
	return p, nil
}
