package ci

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/internal/gitrun"
)

// Partial mirrors. A sibling checked out sparsely needs only some of its
// blobs, and provide-foundry's built docs site is most of its history: its
// mirror is made with --filter=blob:none (commits and trees only) when the
// server allows filters (git http-backend needs uploadpack.allowFilter;
// GitHub does), and the blobs a checkout needs are fetched into the mirror
// before it, in one request. A server that ignores the filter just sends
// everything. The mirror's remote is named by its URL in its config, so a
// URL that carries credentials is never made partial.

// partialFilter is the filter of a new partial mirror.
const partialFilter = "blob:none"

// wantsPartial says whether a new mirror for t should be partial.
func wantsPartial(m *mirror, t target) bool {
	return len(t.sparse) > 0 && !m.exists() && gitauth.Redact(m.url) == m.url && t.pin.URL == ""
}

// isPartial says whether the mirror lacks blobs it may need (it was made
// partial and the server honoured the filter).
func (m *mirror) isPartial() bool {
	packs, _ := filepath.Glob(filepath.Join(m.dir, "objects", "pack", "*.promisor"))
	return len(packs) > 0
}

// backfill fetches into a partial mirror the blobs a checkout of commits
// needs: the top-level files and the sparse directories (every file when
// sparse is empty), and, for a merge (two commits), every path either
// side changed since their merge base, at all three commits. The caller
// holds the exclusive lock.
func (m *mirror) backfill(ctx context.Context, auth string, sparse []string, commits ...string) error {
	want := map[string]bool{}
	add := func(out string) {
		for _, line := range strings.Split(out, "\n") {
			// <mode> SP <type> SP <object> TAB <path>
			meta, _, ok := strings.Cut(line, "\t")
			if f := strings.Fields(meta); ok && len(f) == 3 && f[1] == "blob" {
				want[f[2]] = true
			}
		}
	}
	list := func(commit string, recursive bool, paths ...string) error {
		args := []string{"ls-tree"}
		if recursive {
			args = append(args, "-r")
		}
		// commit is a full SHA the mirror resolved: no option. (After
		// --end-of-options, ls-tree takes "--" for a path.)
		args = append(args, commit, "--")
		out, err := git(ctx, m.dir, append(args, paths...)...)
		if err == nil {
			add(out)
		}
		return err
	}
	for _, c := range commits {
		if err := list(c, len(sparse) == 0); err != nil {
			return err
		}
		if len(sparse) > 0 {
			if err := list(c, true, sparse...); err != nil {
				return err
			}
		}
	}
	if len(commits) == 2 {
		mb, err := git(ctx, m.dir, "merge-base", "--end-of-options", commits[0], commits[1])
		if err == nil && mb != "" {
			var changed []string
			for _, c := range commits {
				out, err := git(ctx, m.dir, "diff", "--name-only", "--no-renames", "--end-of-options", mb, c, "--")
				if err != nil {
					return err
				}
				if out != "" {
					changed = append(changed, strings.Split(out, "\n")...)
				}
			}
			if len(changed) > 0 {
				for _, c := range append(commits, mb) {
					if err := list(c, true, changed...); err != nil {
						return err
					}
				}
			}
		}
	}
	// What the mirror lacks, without asking the server for each.
	var missing []string
	for _, c := range commits {
		out, err := git(ctx, m.dir, "rev-list", "--objects", "--no-walk", "--missing=print", "--end-of-options", c)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(out, "\n") {
			if oid, ok := strings.CutPrefix(line, "?"); ok && want[oid] {
				missing = append(missing, oid)
				delete(want, oid)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err := gitrunStdin(ctx, m.dir, gitauth.Env(auth), strings.Join(missing, "\n")+"\n",
		"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--filter="+partialFilter, "--stdin", "--end-of-options", m.url)
	return err
}

// gitrunStdin is git with extra environment and stdin.
func gitrunStdin(ctx context.Context, dir string, env []string, stdin string, args ...string) (string, error) {
	out, err := gitrun.Run(ctx, dir, gitrun.Env(gitrun.Hermetic, env...), []byte(stdin), args...)
	return strings.TrimSpace(string(out)), err
}
