package ci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkout makes t.dir a clone of the mirror at head, or at base with
// head merged onto it. A local clone with --shared borrows the mirror's
// objects through alternates instead of copying them, so it costs about
// what a worktree does while leaving the mirror untouched by whatever the
// build's steps do in the clone. A clone left by an earlier run in a
// reused root is switched instead (see reuseClone), which rewrites only
// the files that changed. conflict lists the files of a merge conflict.
func (r *Runner) checkout(ctx context.Context, m *mirror, t target, head, base, headLabel string) (conflict []string, err error) {
	dir := t.dir
	first := head
	if base != "" {
		first = base
	}
	reused := false
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if err := reuseClone(ctx, m, t, first); err == nil {
			reused = true
		} else if ctx.Err() != nil {
			return nil, err
		}
	}
	if !reused {
		if err := removeTree(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		if _, err := git(ctx, "", "clone", "--shared", "--no-checkout", "--quiet", "--template=", "--", m.dir, dir); err != nil {
			return nil, err
		}
		if len(t.sparse) > 0 {
			if _, err := git(ctx, dir, append([]string{"sparse-checkout", "set", "--cone", "--end-of-options"}, t.sparse...)...); err != nil {
				return nil, err
			}
		}
		if _, err := git(ctx, dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", first); err != nil {
			return nil, err
		}
	}
	if base == "" {
		return nil, nil
	}
	msg := fmt.Sprintf("Merge %s into %s", headLabel, t.pin.Base)
	_, err = git(ctx, dir, "merge", "--no-ff", "--no-edit", "--quiet", "-m", msg, head)
	if err == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	out, derr := git(ctx, dir, "diff", "--name-only", "--diff-filter=U")
	if derr != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// reuseClone switches a clone an earlier run left to rev: its git
// metadata rewritten to what a fresh clone has (config, alternates, no
// hooks, no half-done merge), its refs refreshed from the mirror, the
// sparse cone set, then "git checkout --force" (only changed files are
// written) and "git clean -ffdx" sparing t.spare. Hooks never run: every
// git call disables them. Any error means: clone afresh.
func reuseClone(ctx context.Context, m *mirror, t target, rev string) error {
	gd := filepath.Join(t.dir, ".git")
	if fi, err := os.Lstat(gd); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a clone's git directory", gd)
	}
	if _, err := os.Stat(filepath.Join(gd, "info", "sparse-checkout")); err == nil && len(t.sparse) == 0 {
		return fmt.Errorf("%s was a sparse checkout: clone it whole", t.dir)
	}
	cfg := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n" +
		"[remote \"origin\"]\n\turl = " + m.dir + "\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
	files := map[string]string{
		"config":                  cfg,
		"objects/info/alternates": filepath.Join(m.dir, "objects") + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(gd, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// info/attributes could make checkout convert what it writes.
	for _, name := range []string{"hooks", "info/sparse-checkout", "info/attributes", "MERGE_HEAD", "MERGE_MSG", "MERGE_MODE", "AUTO_MERGE",
		"CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply", "sequencer", "index.lock", "shallow"} {
		if err := os.RemoveAll(filepath.Join(gd, name)); err != nil {
			return err
		}
	}
	// The objects are the mirror's (alternates): nothing for maintenance
	// to pack, so it is not started.
	if _, err := git(ctx, t.dir, "-c", "maintenance.auto=false", "-c", "gc.auto=0", "fetch", "--quiet", "--prune", "--no-write-fetch-head", "origin",
		"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return err
	}
	if len(t.sparse) > 0 {
		if _, err := git(ctx, t.dir, append([]string{"sparse-checkout", "set", "--cone", "--end-of-options"}, t.sparse...)...); err != nil {
			return err
		}
	}
	if _, err := git(ctx, t.dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", rev); err != nil {
		return err
	}
	args := []string{"clean", "-ffdxq"}
	for _, p := range t.spare {
		args = append(args, "-e", "/"+filepath.ToSlash(p))
	}
	_, err := git(ctx, t.dir, args...)
	return err
}

// emptyBut removes everything in dir but the kept paths (relative to it),
// creating dir when it does not exist.
func emptyBut(dir string, keep []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	kept := map[string]bool{}
	parents := map[string]bool{}
	for _, k := range keep {
		k = filepath.Clean(k)
		kept[k] = true
		for p := filepath.Dir(k); p != "." && p != "/"; p = filepath.Dir(p) {
			parents[p] = true
		}
	}
	var walk func(rel string) error
	walk = func(rel string) error {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := filepath.Join(rel, e.Name())
			switch {
			case kept[p]:
			case parents[p] && e.IsDir() && e.Type()&os.ModeSymlink == 0:
				if err := walk(p); err != nil {
					return err
				}
			default:
				if err := removeTree(filepath.Join(dir, p)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("")
}
