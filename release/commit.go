package release

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitauth"
)

// WriteCommit writes a commit of files (see Plan.Changes) on top of the
// state's commit and returns its SHA. It uses a private index, so no work
// tree or branch is touched. Author and committer dates are the base
// commit's, so the same plan on the same base gives the same commit and a
// re-run pushes nothing new.
func WriteCommit(ctx context.Context, st *State, files map[string][]byte, message string) (string, error) {
	idx, err := os.CreateTemp("", "workspace-bot-release-index-*")
	if err != nil {
		return "", fmt.Errorf("create a temporary index: %w", err)
	}
	idx.Close()
	os.Remove(idx.Name())
	defer os.Remove(idx.Name())
	env := plumbingEnv("GIT_INDEX_FILE=" + idx.Name())
	gitIdx := func(stdin []byte, args ...string) (string, error) {
		out, err := run(ctx, st.Dir, env, stdin, args...)
		return strings.TrimSpace(string(out)), err
	}
	if _, err := gitIdx(nil, "read-tree", st.Rev); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var info strings.Builder
	for _, p := range paths {
		if files[p] == nil {
			fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), p)
			continue
		}
		mode := "100644"
		if m, err := gitIdx(nil, "ls-files", "--stage", "--", p); err == nil && strings.HasPrefix(m, "100755") {
			mode = "100755"
		}
		blob, err := gitIdx(files[p], "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&info, "%s %s\t%s\n", mode, blob, p)
	}
	if _, err := gitIdx([]byte(info.String()), "update-index", "--index-info"); err != nil {
		return "", err
	}
	tree, err := gitIdx(nil, "write-tree")
	if err != nil {
		return "", err
	}
	date, err := git(ctx, st.Dir, "show", "-s", "--format=%cI", st.Rev)
	if err != nil {
		return "", err
	}
	cenv := plumbingEnv("GIT_AUTHOR_NAME="+authorName, "GIT_AUTHOR_EMAIL="+authorEmail,
		"GIT_COMMITTER_NAME="+authorName, "GIT_COMMITTER_EMAIL="+authorEmail,
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := run(ctx, st.Dir, cenv, []byte(message), "commit-tree", "--no-gpg-sign", tree, "-p", st.Rev)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// remoteEnv carries an HTTP Authorization header value to git through
// its environment, never through the URL or the command line.
func remoteEnv(auth string) []string {
	return append(baseEnv(), gitauth.Env(auth)...)
}

// RemoteBranch returns the SHA of branch at url, "" when it does not
// exist; auth is an Authorization header value or "".
func RemoteBranch(ctx context.Context, dir, url, auth, branch string) (string, error) {
	out, err := run(ctx, dir, remoteEnv(auth), nil, "ls-remote", "--heads", "--end-of-options", url, "refs/heads/"+branch)
	if err != nil {
		return "", err
	}
	sha, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	return sha, nil
}

// Push force-pushes sha to branch at url: the release branch is always
// the recomputed commit on the base tip. The user's git config applies
// (credential helpers, ssh), prompts never do.
func Push(ctx context.Context, dir, url, auth, sha, branch string) error {
	if strings.HasPrefix(branch, "-") || strings.HasPrefix(url, "-") {
		return inputErrorf("refusing to push %q to %q: looks like an option", branch, gitauth.Redact(url))
	}
	_, err := run(ctx, dir, remoteEnv(auth), nil, "push", "--quiet", "--force", "--end-of-options", url, sha+":refs/heads/"+branch)
	return err
}
