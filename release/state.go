package release

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/workspace"
)

// Files a release reads and edits in each sibling's repository.
const (
	VersionFile   = "VERSION"
	PyprojectFile = "pyproject.toml"
	ChangelogFile = "CHANGELOG.md"
)

// State is one sibling's repository as a release sees it: the files of
// one commit (never the work tree, so uncommitted edits are not part of a
// release and the checkout is never touched).
type State struct {
	Sibling string
	// Package is the pyproject [project] name, or the sibling's name.
	Package string
	Dir     string
	// Rev is the commit read, the base of the release commit.
	Rev string
	// Version is the current version, read from VersionFile.
	Version     Version
	VersionFile string // VERSION or pyproject.toml; "" when neither has one
	// LastTag is the highest v1.2.3 or 1.2.3 tag reachable from Rev.
	LastTag string
	// Commits since LastTag (all of them without one), newest first.
	Commits   []Commit
	Fragments []Fragment

	files map[string][]byte
	py    *pyproject
}

// Read reads sibling's repository at dir, at HEAD.
func Read(ctx context.Context, sibling, dir string) (*State, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		return nil, inputErrorf("sibling %s: %s is not a git repository (fix: clone the sibling there, or run without --local)", sibling, dir)
	}
	rev, err := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return nil, inputErrorf("sibling %s: %s has no commit at HEAD (fix: commit or check out a branch): %v", sibling, dir, err)
	}
	st := &State{Sibling: sibling, Package: sibling, Dir: dir, Rev: rev, files: map[string][]byte{}}
	list, err := git(ctx, dir, "ls-tree", "-r", "--name-only", "--full-tree", rev, "--",
		VersionFile, PyprojectFile, ChangelogFile, FragmentDir)
	if err != nil {
		return nil, err
	}
	var fragments []string
	for _, p := range strings.Split(list, "\n") {
		switch {
		case p == "":
		case strings.HasPrefix(p, FragmentDir+"/"):
			if isFragment(p) {
				fragments = append(fragments, p)
			}
		default:
			data, err := run(ctx, dir, plumbingEnv(), nil, "cat-file", "blob", rev+":"+p)
			if err != nil {
				return nil, err
			}
			st.files[p] = data
		}
	}
	if data, ok := st.files[PyprojectFile]; ok {
		if st.py, err = parsePyproject(sibling+": "+PyprojectFile, data); err != nil {
			return nil, err
		}
		if st.py.name != "" {
			st.Package = st.py.name
		}
	}
	switch {
	case st.files[VersionFile] != nil:
		text := strings.TrimSpace(string(st.files[VersionFile]))
		if st.Version, err = ParseVersion(text); err != nil {
			return nil, inputErrorf("sibling %s: %s: %v (fix: write one version such as 0.4.0)", sibling, VersionFile, err)
		}
		st.VersionFile = VersionFile
	case st.py != nil && st.py.version != "":
		if st.Version, err = ParseVersion(st.py.version); err != nil {
			return nil, inputErrorf("sibling %s: %s: [project] version: %v (fix: use MAJOR.MINOR.PATCH such as \"0.4.0\")", sibling, PyprojectFile, err)
		}
		st.VersionFile = PyprojectFile
	}
	sort.Strings(fragments)
	for _, p := range fragments {
		data, err := run(ctx, dir, plumbingEnv(), nil, "cat-file", "blob", rev+":"+p)
		if err != nil {
			return nil, err
		}
		f, err := parseFragment(sibling, p, data)
		if err != nil {
			return nil, err
		}
		st.Fragments = append(st.Fragments, f)
	}
	if err := st.readCommits(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// readCommits finds the last release tag and the commits since.
func (st *State) readCommits(ctx context.Context) error {
	tags, err := git(ctx, st.Dir, "tag", "--list", "--merged", st.Rev)
	if err != nil {
		return err
	}
	var best Version
	for _, t := range strings.Split(tags, "\n") {
		if v, ok := tagVersion(t); ok && (st.LastTag == "" || best.Less(v)) {
			st.LastTag, best = t, v
		}
	}
	rng := st.Rev
	if st.LastTag != "" {
		rng = "refs/tags/" + st.LastTag + ".." + st.Rev
	}
	out, err := git(ctx, st.Dir, "log", "--no-merges", "--format=%H%x00%B%x1e", rng, "--")
	if err != nil {
		return err
	}
	for _, rec := range strings.Split(out, "\x1e") {
		sha, msg, ok := strings.Cut(strings.TrimSpace(rec), "\x00")
		if ok {
			st.Commits = append(st.Commits, parseCommit(sha, msg))
		}
	}
	return nil
}

// fragmentName is a fragment's file name without its directory, for
// messages.
func fragmentName(p string) string { return path.Base(p) }

// ReadAll reads every sibling of cfg from its checkout in dirs (by name).
func ReadAll(ctx context.Context, cfg *workspace.Config, dirs map[string]string) (map[string]*State, error) {
	states := make(map[string]*State, len(cfg.Siblings))
	for _, s := range cfg.Siblings {
		st, err := Read(ctx, s.Name, dirs[s.Name])
		if err != nil {
			return nil, err
		}
		states[s.Name] = st
	}
	return states, nil
}
