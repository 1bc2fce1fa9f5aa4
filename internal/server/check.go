package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/store"
)

// Check is one line of serve --check-config: what was checked, and what
// was found, or the problem with its fix.
type Check struct {
	Name    string
	Found   string
	Problem error
}

// checkTimeout bounds the GitHub calls of a check, so an address that
// never answers is a problem line, not a hang.
const checkTimeout = 30 * time.Second

// CheckConfig checks what Serve meets at start, without starting it: the
// webhook secret, the flags, the GitHub credentials, the data dir, the
// database, GitHub itself (one authenticated call through the service's
// client) and the workspace config. It changes nothing on disk. A check
// that needs one that failed says so instead of running.
func CheckConfig(ctx context.Context, o *ServeOptions) []Check {
	var out []Check
	add := func(name, found string, err error) bool {
		out = append(out, Check{Name: name, Found: found, Problem: err})
		return err == nil
	}
	add("webhook secret", "set", o.readSecret())
	err := o.settle()
	flagsOK := add("flags", fmt.Sprintf("listen %s, %d workers, run pages at %s", o.Listen, o.Workers, o.PublicURL), err)
	var f *ghclient.Factory
	err = o.gitHubOptions()
	if err == nil {
		// No HTTP cache: it would be created in the data dir, and a
		// check changes nothing.
		g := o.GitHubOptions
		g.CacheDir = ""
		f, err = ghclient.New(g)
	}
	credsOK := add("GitHub credentials", credentials(o.GitHubOptions), err)
	if flagsOK {
		found, err := checkDataDir(o.DataDir, o.DiskReserveBytes)
		if add("data dir", found, err) {
			db := o.Database
			if db == "" {
				db = store.Path(o.DataDir)
			}
			found, err = checkDatabase(ctx, db)
			add("database", found, err)
		} else {
			add("database", "", errors.New("not checked: fix the data dir first"))
		}
	} else {
		add("data dir", "", errors.New("not checked: fix the flags first"))
		add("database", "", errors.New("not checked: fix the flags first"))
	}
	if !credsOK {
		add("GitHub", "", errors.New("not tried: fix the credentials first"))
		add("workspace config", "", errors.New("not checked: fix the credentials first"))
		return out
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	who, err := gh.Self(f)(cctx)
	var answered *github.ErrorResponse
	switch {
	case err != nil && !errors.As(err, &answered):
		// GitHub's own answers say what to fix; no answer needs this.
		err = fmt.Errorf("%w (fix: check --github-api-url, and that this machine reaches %s)", err, o.GitHubOptions.APIURL)
	case err == nil && who == "":
		who = "a token GitHub does not name (an installation token)"
	}
	add("GitHub", fmt.Sprintf("%s answers as %s", o.GitHubOptions.APIURL, who), err)
	api, _ := GitHub(f)
	found, err := checkWorkspaceConfig(cctx, o.ConfigSpec(), api)
	add("workspace config", found, err)
	return out
}

// WriteChecks prints one line per check and says whether all passed.
func WriteChecks(w io.Writer, checks []Check) bool {
	ok := true
	for _, c := range checks {
		if c.Problem != nil {
			ok = false
			fmt.Fprintf(w, "problem  %s: %s\n", c.Name, strings.ReplaceAll(c.Problem.Error(), "\n", "; "))
			continue
		}
		fmt.Fprintf(w, "ok       %s: %s\n", c.Name, c.Found)
	}
	return ok
}

func credentials(o ghclient.Options) string {
	if o.AppID != 0 {
		return fmt.Sprintf("GitHub App %d and its private key", o.AppID)
	}
	return "a token"
}

// checkDataDir checks that the data dir can be written and that its disk
// has more than the reserve free. A data dir that does not exist yet is
// checked where start would create it.
func checkDataDir(dir string, reserve int64) (string, error) {
	at, missing := dir, ""
	for {
		fi, err := os.Stat(at)
		if err == nil && fi.IsDir() {
			break
		}
		if err == nil {
			return "", fmt.Errorf("%s cannot be created: %s is not a directory (fix: choose another --data-dir)", dir, at)
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", fmt.Errorf("%s: %w (fix: choose another --data-dir)", dir, err)
		}
		missing = " (does not exist yet; start creates it)"
		parent := filepath.Dir(at)
		if parent == at {
			return "", fmt.Errorf("%s: no existing directory above it (fix: choose another --data-dir)", dir)
		}
		at = parent
	}
	f, err := os.CreateTemp(at, ".workspace-bot-check-*")
	if err != nil {
		return "", fmt.Errorf("%s is not writable: %w (fix: give serve's user write access, or choose another --data-dir)", at, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	free, err := store.FreeSpace(at)
	if err != nil {
		return "", fmt.Errorf("%s: cannot tell the free space: %w", at, err)
	}
	if free <= reserve {
		return "", fmt.Errorf("%s has %s free, not more than --disk-reserve %s: runs would fail at once (fix: free space, or lower --disk-reserve)", dir, size(free), size(reserve))
	}
	return fmt.Sprintf("%s%s: writable, %s free, %s kept in reserve", dir, missing, size(free), size(reserve)), nil
}

// checkDatabase reads the database's schema version without changing it.
func checkDatabase(ctx context.Context, path string) (string, error) {
	p, err := store.ProbeDatabase(ctx, path)
	if store.IsDatabaseURL(path) {
		path = store.RedactURL(path)
	}
	switch {
	case err != nil:
		return "", err
	case !p.Exists:
		return fmt.Sprintf("%s does not exist yet; start creates it at schema %d", path, store.SchemaVersion), nil
	case p.Version < store.SchemaVersion:
		return fmt.Sprintf("%s at schema %d; start migrates it to %d", path, p.Version, store.SchemaVersion), nil
	}
	return fmt.Sprintf("%s at schema %d, current", path, p.Version), nil
}

// checkWorkspaceConfig loads and validates the workspace config as start
// and every run would.
func checkWorkspaceConfig(ctx context.Context, spec string, files FileReader) (string, error) {
	src, _, err := ConfigSource(spec, files)
	if err != nil {
		return "", err
	}
	cfg, err := src(ctx)
	if err != nil {
		return "", err
	}
	order, err := cfg.Order()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: workspace %s, %d siblings", cfg.Name, cfg.Workspace.Name, len(order)), nil
}

// size shows a byte count in the units --disk-reserve takes.
func size(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%dGB", n>>30)
	case n >= 10<<20:
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}
