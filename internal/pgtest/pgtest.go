// Package pgtest gives tests a real PostgreSQL server. DSN returns the
// postgres:// URL of a new, empty database on a server that the whole
// test binary shares, and drops the database when the test ends.
//
// The server is the one WORKSPACE_BOT_TEST_POSTGRES names (the URL of a
// server whose user may CREATE DATABASE; .ci/run starts one and sets it).
// Without it, the first DSN starts a server of the binary's own: initdb
// and postgres from PATH or /usr/lib/postgresql/*/bin, a temporary
// cluster tuned for tests (no fsync), listening on 127.0.0.1 at a free
// port, run as the postgres user (or nobody) when the tests run as root,
// since PostgreSQL refuses root.
//
// A package that calls DSN declares
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// so that its server is stopped and its directory removed before the test
// binary exits. A binary that ends any other way, killed included, takes
// its server with it a moment later (see watchdog.sh).
//
// Where no server can be started, DSN skips the test and says what is
// missing. With WORKSPACE_BOT_REQUIRE_POSTGRES=1, as .ci/run sets, it
// fails instead, so that CI never passes by skipping.
//
// Only tests import this package.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	envServer  = "WORKSPACE_BOT_TEST_POSTGRES"
	envRequire = "WORKSPACE_BOT_REQUIRE_POSTGRES"
)

var (
	once   sync.Once
	shared *server
	// unavailable says why no server could be started: a skip, unless
	// envRequire asks for a failure.
	unavailable string
	// broken says why the server envServer names cannot be used: always a
	// failure, since someone asked for that server.
	broken error
)

// setup finds or starts the binary's server, once.
func setup() {
	if v := os.Getenv(envServer); v != "" {
		shared, broken = external(v)
		return
	}
	shared, unavailable = startLocal()
}

// DSN returns the postgres:// URL of a new, empty database, dropped (its
// connections closed by force) when t and its subtests have finished.
// Where no server can be had, it skips t, or fails it under
// WORKSPACE_BOT_REQUIRE_POSTGRES=1.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	switch {
	case broken != nil:
		t.Fatal(broken)
	case unavailable != "" && os.Getenv(envRequire) == "1":
		t.Fatalf("%s\n(%s=1: the PostgreSQL tests may not be skipped)", unavailable, envRequire)
	case unavailable != "":
		t.Skip(unavailable)
	}
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := shared.create(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := shared.drop(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return shared.dsn(name)
}

// Main runs the tests, then stops the server DSN started and removes its
// directory, and exits. A failure to stop fails the run: it would leave a
// server behind.
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Stop is Main's end for a TestMain with more to do after the tests: it
// stops the server DSN started, if any, and removes its directory.
func Stop() error { return shutdown() }

// shutdown closes the server's connections and stops it if it is the
// binary's own.
func shutdown() error {
	if shared == nil {
		return nil
	}
	shared.admin.Close()
	if shared.local == nil {
		return nil
	}
	return shared.local.stop()
}

// dbName names a database for a test: the test's name, for whoever looks
// at the server while it runs, and a random suffix, since test binaries
// running at once may share a server and run tests of the same name.
// PostgreSQL cuts names at 63 bytes; this stays under.
func dbName(test string) string {
	var b strings.Builder
	b.WriteString("pgtest_")
	under := true
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case !under:
			b.WriteByte('_')
			under = true
		}
	}
	if !under {
		b.WriteByte('_')
	}
	b.WriteString(strings.ToLower(rand.Text()[:12]))
	return b.String()
}
