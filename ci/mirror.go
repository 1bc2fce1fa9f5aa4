package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/provide-io/workspace-bot/internal/backoff"
	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/workspace"
)

// mirror is a bare repository under DataDir/mirrors holding every branch
// and tag of one remote. Writers (init, fetch) hold an exclusive flock on
// its lock file; readers (resolving refs, cloning from it, checking out)
// hold a shared one, so concurrent runs in one process or many never see a
// half-written mirror, nor lose objects to a gc while they read.
type mirror struct {
	dir string
	url string // may carry credentials: never print it, print gitauth.Redact(url)
}

// mirrorFor names the mirror of url: readable, and unique per URL
// (credentials left out, so a rotated token keeps its mirror).
func (r *Runner) mirrorFor(url string) *mirror {
	name := strings.ReplaceAll(workspace.FullName(url), "/", "_")
	if name == "" {
		name = "repo"
	}
	sum := sha256.Sum256([]byte(gitauth.Redact(url)))
	return &mirror{
		dir: filepath.Join(r.DataDir, "mirrors", name+"-"+hex.EncodeToString(sum[:])[:12]+".git"),
		url: url,
	}
}

// lockWait spaces the tries for a mirror's lock: a fetch holds it for
// a moment, so the waits stay short.
var lockWait = backoff.Policy{First: 2 * time.Millisecond, Max: 50 * time.Millisecond}

// lock takes the mirror's lock, shared or exclusive, waiting as long as
// ctx allows. Each call opens the lock file anew, so goroutines of one
// process exclude each other just as processes do.
func (m *mirror) lock(ctx context.Context, exclusive bool) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(m.dir), 0o755); err != nil {
		return nil, fmt.Errorf("create mirror directory: %w", err)
	}
	f, err := os.OpenFile(m.dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open mirror lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for try := 1; ; try++ {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock mirror %s: %w", m.dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockWait.Wait(try)):
		}
	}
}

// exists says whether the mirror is a whole repository: a git init cut
// short (the process killed) leaves HEAD without objects.
func (m *mirror) exists() bool {
	for _, name := range []string{"HEAD", "config", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(m.dir, name)); err != nil {
			return false
		}
	}
	return true
}

// init creates the bare repository; the caller holds the exclusive lock.
// It is made beside its place and renamed into it once configured, so a
// process killed halfway leaves no half-made mirror; one left by an
// older version is made again.
func (m *mirror) init(ctx context.Context) error {
	if m.exists() {
		return nil
	}
	tmp := m.dir + ".init"
	for _, d := range []string{tmp, m.dir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove the unfinished mirror %s: %w", d, err)
		}
	}
	if _, err := git(ctx, "", "init", "--bare", "--quiet", "--template=", "--", tmp); err != nil {
		return err
	}
	// gc in the foreground, inside our lock, never detached after it; and
	// remote.origin.url only for people looking at the mirror (fetches name
	// the URL on the command line, so credentials never reach the disk).
	for _, kv := range [][2]string{
		{"gc.autoDetach", "false"},
		{"core.logAllRefUpdates", "false"},
		{"remote.origin.url", gitauth.Redact(m.url)},
	} {
		if _, err := git(ctx, tmp, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, m.dir); err != nil {
		return fmt.Errorf("put the new mirror in place: %w", err)
	}
	return nil
}

// fetch brings every branch and tag up to date, pruning deleted ones, plus
// any extra refspecs. git's negotiation sends only objects the mirror
// lacks. The caller holds the exclusive lock.
func (m *mirror) fetch(ctx context.Context, auth, url, filter string, extra ...string) error {
	if err := m.clearStaleLocks(); err != nil {
		return err
	}
	args := []string{"fetch", "--quiet", "--prune", "--no-write-fetch-head"}
	if filter != "" {
		args = append(args, "--filter="+filter)
	}
	args = append(args, "--end-of-options", url)
	if url == m.url {
		args = append(args, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	}
	args = append(args, extra...)
	_, err := gitWithEnv(ctx, m.dir, gitauth.Env(auth), args...)
	return err
}

// clearStaleLocks removes the lock files a git killed in the mirror
// left (a fetch cut short when a run was cancelled or superseded, or the
// service killed): git refuses to update a ref, the packed refs or the
// config while one is there, so every later fetch would fail. The
// caller holds the exclusive lock, so no git of ours is writing here.
func (m *mirror) clearStaleLocks() error {
	if !m.exists() {
		return nil
	}
	var errs []error
	remove := func(path string) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for _, dir := range []string{m.dir, filepath.Join(m.dir, "objects", "info")} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
		for _, n := range names {
			remove(n)
		}
	}
	filepath.WalkDir(filepath.Join(m.dir, "refs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".lock") {
			remove(path)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove a stale git lock in the mirror %s: %w", m.dir, err)
	}
	return nil
}

// hasCommit says whether the mirror holds the commit sha.
func (m *mirror) hasCommit(ctx context.Context, sha string) bool {
	if !m.exists() {
		return false
	}
	_, err := git(ctx, m.dir, "cat-file", "-e", "--end-of-options", sha+"^{commit}")
	return err == nil
}

// resolve turns a branch, tag, full ref name or (abbreviated) SHA into a
// commit SHA; ok is false when the mirror has no such thing. Branches win
// over tags, tags over SHAs, as git's own lookup would have it.
func (m *mirror) resolve(ctx context.Context, ref string) (sha string, ok bool, err error) {
	var cands []string
	if strings.HasPrefix(ref, "refs/") {
		cands = append(cands, ref)
	} else {
		cands = append(cands, "refs/heads/"+ref, "refs/tags/"+ref)
		if isHex(ref) && len(ref) >= 7 {
			cands = append(cands, ref)
		}
	}
	for _, c := range cands {
		out, gerr := git(ctx, m.dir, "rev-parse", "--verify", "--quiet", "--end-of-options", c+"^{commit}")
		if gerr == nil && out != "" {
			return out, true, nil
		}
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
	}
	return "", false, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// isFullSHA says whether s is a whole SHA-1 or SHA-256 object name.
func isFullSHA(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isHex(s)
}

// refs reads the named refs (full names) that exist in the mirror; the
// caller holds a lock.
func (m *mirror) refs(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	if refs, ok := m.readRefs(names); ok {
		return refs, nil
	}
	args := append([]string{"for-each-ref", "--format=%(objectname) %(refname)", "--"}, names...)
	text, err := git(ctx, m.dir, args...)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(text, "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			out[name] = sha
		}
	}
	return out, nil
}

// readRefs reads the named refs from the mirror's files, as git's files
// backend keeps them (a loose file wins over packed-refs), without
// starting git: a warm re-run asks this of every sibling. ok is false
// for anything but plain SHAs in plain files (a symbolic ref, an odd
// name, an unreadable file): git answers those.
func (m *mirror) readRefs(names []string) (refs map[string]string, ok bool) {
	refs = map[string]string{}
	var packed map[string]string
	for _, name := range names {
		if !strings.HasPrefix(name, "refs/") || strings.Contains(name, "..") || strings.ContainsAny(name, "\\\x00") {
			return nil, false
		}
		data, err := os.ReadFile(filepath.Join(m.dir, filepath.FromSlash(name)))
		switch {
		case err == nil:
			sha := strings.TrimSuffix(string(data), "\n")
			if !isFullSHA(sha) {
				return nil, false
			}
			refs[name] = sha
			continue
		case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return nil, false
		}
		if packed == nil {
			if packed, ok = m.packedRefs(); !ok {
				return nil, false
			}
		}
		if sha, found := packed[name]; found {
			refs[name] = sha
		}
	}
	return refs, true
}

// packedRefs reads the mirror's packed-refs file (none is empty).
func (m *mirror) packedRefs() (map[string]string, bool) {
	refs := map[string]string{}
	data, err := os.ReadFile(filepath.Join(m.dir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return refs, true
	}
	if err != nil {
		return nil, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		sha, name, found := strings.Cut(line, " ")
		if !found || !isFullSHA(sha) {
			return nil, false
		}
		refs[name] = sha
	}
	return refs, true
}
