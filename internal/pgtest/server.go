package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx" driver
)

// server is a PostgreSQL server the tests make their databases on.
type server struct {
	admin *sql.DB
	// base is the server's URL; a database's differs only in its path.
	base url.URL
	// strategy is how CREATE DATABASE copies the template.
	strategy string
	// local is the server's process when the binary started it, else nil.
	local *cluster
}

// external connects to the server envServer names.
func external(v string) (*server, error) {
	u, err := url.Parse(v)
	if err == nil && u.Scheme != "postgres" && u.Scheme != "postgresql" {
		err = fmt.Errorf("scheme %q is not postgres", u.Scheme)
	}
	if err != nil {
		// The value may hold a password: it is not repeated.
		return nil, fmt.Errorf("pgtest: %s is not a postgres:// URL (%v); set it to one such as postgres://user@127.0.0.1:5432/postgres, or unset %[1]s to let the tests start a server of their own", envServer, err)
	}
	s, err := connect(*u)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %s=%s: %w; start that server or correct the URL, or unset %[1]s to let the tests start a server of their own", envServer, u.Redacted(), err)
	}
	return s, nil
}

// connect opens the administrative connections to the server at u and
// checks that its user may make and drop databases.
func connect(u url.URL) (*server, error) {
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	// Only CREATE and DROP DATABASE go through here; a server shared by
	// several test binaries keeps its connections for their tests.
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		user    string
		may     bool
		version int
		fsync   string
	)
	err = db.QueryRowContext(ctx, `SELECT current_user, rolsuper OR rolcreatedb,
		current_setting('server_version_num')::int, current_setting('fsync')
		FROM pg_roles WHERE rolname = current_user`).Scan(&user, &may, &version, &fsync)
	switch {
	case err != nil:
	case !may:
		err = fmt.Errorf("user %s may not create databases; ALTER ROLE %[1]s CREATEDB, or use a user who may", user)
	case version < 130000:
		err = fmt.Errorf("PostgreSQL %d.%d is older than 13, which DROP DATABASE ... WITH (FORCE) needs", version/10000, version%10000)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &server{admin: db, base: u}
	// From 15 a new database is written through the WAL by default; with
	// fsync off, copying its files is faster (about 15 ms a database
	// against 35 here), though it takes a checkpoint either side.
	if version >= 150000 && fsync == "off" {
		s.strategy = " STRATEGY FILE_COPY"
	}
	return s, nil
}

// create makes an empty database; template0 is never connected to, so
// tests that create at once never wait on each other for it.
func (s *server) create(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" TEMPLATE template0`+s.strategy); err != nil {
		return fmt.Errorf("pgtest: create database %s on %s: %w", name, s.base.Redacted(), err)
	}
	return nil
}

// drop drops a database and whatever connections the test left to it.
func (s *server) drop(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return fmt.Errorf("pgtest: drop database %s on %s: %w", name, s.base.Redacted(), err)
	}
	return nil
}

// dsn is the URL of a database on s.
func (s *server) dsn(name string) string {
	u := s.base
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}
