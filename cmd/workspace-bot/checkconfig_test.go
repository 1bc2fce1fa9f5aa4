package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/provide-io/workspace-bot/internal/demo"
	"github.com/provide-io/workspace-bot/internal/pgtest"
	"github.com/provide-io/workspace-bot/internal/store"
)

// serve --check-config, run as the service is: the binary in its own
// process, against the GitHub emulator through the service's client. It
// prints one line per check and starts nothing: the listen address is
// held by the test, so a serve that listened would fail, and the data
// dir is not created.
func TestServeCheckConfig(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	aFile := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := t.TempDir()
	st, err := store.Open(t.Context(), store.Path(existing))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A PostgreSQL database migrated by a start, one not yet, and a server
	// that does not answer, whose URL's password must never be printed.
	migrated, fresh := pgtest.DSN(t), pgtest.DSN(t)
	if st, err = store.Open(t.Context(), migrated); err != nil {
		t.Fatal(err)
	}
	st.Close()
	unreachable := "postgres://bot:pw-hush-77@127.0.0.1:1/bot?connect_timeout=5"
	checks := []string{"webhook secret", "flags", "GitHub credentials", "data dir", "database", "GitHub", "workspace config"}
	for _, tc := range []struct {
		name     string
		token    string
		dataDir  string
		database string
		code     int
		problems map[string]string // check -> what its line says
		found    map[string]string
	}{
		{name: "all pass", token: actionToken, dataDir: filepath.Join(t.TempDir(), "data"), code: exitOK,
			found: map[string]string{"database": "does not exist yet; start creates it", "GitHub": "answers as workspace-bot",
				"workspace config": "workspace demo-workspace, 3 siblings"}},
		{name: "an existing database", token: actionToken, dataDir: existing, code: exitOK,
			found: map[string]string{"database": fmt.Sprintf("at schema %d, current", store.SchemaVersion)}},
		{name: "a PostgreSQL database not yet made", token: actionToken, dataDir: filepath.Join(t.TempDir(), "data"), database: fresh, code: exitOK,
			found: map[string]string{"database": "does not exist yet; start creates it"}},
		{name: "a PostgreSQL database", token: actionToken, dataDir: filepath.Join(t.TempDir(), "data"), database: migrated, code: exitOK,
			found: map[string]string{"database": fmt.Sprintf("at schema %d, current", store.SchemaVersion)}},
		{name: "a PostgreSQL server that does not answer", token: actionToken, dataDir: filepath.Join(t.TempDir(), "data"), database: unreachable, code: exitUsage,
			problems: map[string]string{"database": "cannot reach the database"}},
		{name: "a bad token and a data dir under a file", token: "ghp_notAToken0123456789", dataDir: filepath.Join(aFile, "data"), code: exitUsage,
			problems: map[string]string{
				"data dir": aFile + " is not a directory (fix: choose another --data-dir)",
				"database": "not checked: fix the data dir first",
				"GitHub":   "401",
				// The config lives on GitHub: what the token cannot read
				// cannot be checked either.
				"workspace config": "demo-workspace",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(actionBinary(t), "serve", "--check-config", "--listen", held.Addr().String())
			cmd.Env = append([]string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
				"WORKSPACE_BOT_WEBHOOK_SECRET=hush-9c2e", "WORKSPACE_BOT_GITHUB_TOKEN=" + tc.token,
				"WORKSPACE_BOT_GITHUB_API_URL=" + w.srv.APIURL(), "WORKSPACE_BOT_WORKSPACE_REPO=" + demo.WorkspaceRepo,
				"WORKSPACE_BOT_DATA_DIR=" + tc.dataDir, "WORKSPACE_BOT_DATABASE=" + tc.database,
			}, binaryEnv...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			out := stdout.String()
			t.Logf("serve --check-config:\n%s", out)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(checks) {
				t.Fatalf("%d lines, want one per check (%d):\n%s", len(lines), len(checks), out)
			}
			for i, name := range checks {
				want, bad := tc.problems[name]
				re := regexp.MustCompile(`^ok +` + regexp.QuoteMeta(name) + `: .*` + regexp.QuoteMeta(tc.found[name]))
				if bad {
					re = regexp.MustCompile(`^problem +` + regexp.QuoteMeta(name) + `: .*` + regexp.QuoteMeta(want))
				}
				if !re.MatchString(lines[i]) {
					t.Errorf("line %d: %q, want it to match %s", i+1, lines[i], re)
				}
			}
			for _, secret := range []string{"hush-9c2e", tc.token, "pw-hush-77"} {
				if strings.Contains(out+stderr.String(), secret) {
					t.Errorf("a secret was printed:\n%s%s", out, stderr.String())
				}
			}
			if _, err := os.Stat(tc.dataDir); tc.dataDir != existing && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("the data dir %s was created (%v): a check must change nothing", tc.dataDir, err)
			}
		})
	}
}
