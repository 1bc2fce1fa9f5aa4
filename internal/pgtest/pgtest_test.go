package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// open opens a DSN with pgx's database/sql driver, closed when t ends.
func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dbOf is the database a DSN names.
func dbOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// tables counts the tables a database's users made.
func tables(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A DSN is a postgres:// URL that pgx's database/sql driver opens, and a
// database to write and read.
func TestDSNOpensWithPgx(t *testing.T) {
	dsn := DSN(t)
	if !strings.HasPrefix(dsn, "postgres://") {
		t.Errorf("DSN %s, want a postgres:// URL", dsn)
	}
	db := open(t, dsn)
	if _, err := db.Exec(`CREATE TABLE runs (id bigserial PRIMARY KEY, state text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRow(`INSERT INTO runs (state) VALUES ($1) RETURNING id`, "queued").Scan(&id); err != nil {
		t.Fatal(err)
	}
	var state, current string
	if err := db.QueryRow(`SELECT state, current_database() FROM runs WHERE id = $1`, id).Scan(&state, &current); err != nil {
		t.Fatal(err)
	}
	if state != "queued" || current != dbOf(t, dsn) {
		t.Errorf("read %q in %s, want %q in %s", state, current, "queued", dbOf(t, dsn))
	}
}

// Each DSN is a database of its own, empty, so that what one test writes
// another never sees.
func TestDSNsAreSeparateEmptyDatabases(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if dbOf(t, a) == dbOf(t, b) {
		t.Fatalf("two DSNs name one database, %s", dbOf(t, a))
	}
	dbA, dbB := open(t, a), open(t, b)
	if n, m := tables(t, dbA), tables(t, dbB); n != 0 || m != 0 {
		t.Errorf("new databases hold %d and %d tables, want none", n, m)
	}
	if _, err := dbA.Exec(`CREATE TABLE heads (sha text)`); err != nil {
		t.Fatal(err)
	}
	if n := tables(t, dbB); n != 0 {
		t.Errorf("a table made in one database shows in the other (%d tables)", n)
	}
}

// A test's database is dropped when the test ends, even with a
// connection the test left open.
func TestDatabaseIsDroppedAfterCleanup(t *testing.T) {
	var (
		name string
		db   *sql.DB
		left *sql.Conn
	)
	t.Run("test", func(t *testing.T) {
		dsn := DSN(t)
		name = dbOf(t, dsn)
		var err error
		if db, err = sql.Open("pgx", dsn); err != nil {
			t.Fatal(err)
		}
		if left, err = db.Conn(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if db != nil {
		defer db.Close()
	}
	if t.Failed() {
		return
	}
	defer left.Close()
	var n int
	if err := shared.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s is still there after its test", name)
	}
	if err := left.PingContext(context.Background()); err == nil {
		t.Errorf("the connection the test left to %s still works", name)
	}
}

// A database's name says which test it is for, and stays within
// PostgreSQL's 63 bytes whatever the test's name.
func TestDBName(t *testing.T) {
	for _, test := range []string{
		"TestStore",
		"TestStore/claims_are_exclusive#01",
		strings.Repeat("TestAVeryLongName", 10),
		"Ünïcode/テスト",
	} {
		got := dbName(test)
		if len(got) > 63 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("dbName(%q) = %q: longer than 63 bytes or not a plain identifier", test, got)
		}
		if dbName(test) == got {
			t.Errorf("dbName(%q) twice gave %q twice", test, got)
		}
	}
	if got := dbName("TestStore/claims_are_exclusive#01"); !strings.HasPrefix(got, "pgtest_teststore_claims_are_") {
		t.Errorf("dbName = %q, want it to start with the test's name", got)
	}
}
