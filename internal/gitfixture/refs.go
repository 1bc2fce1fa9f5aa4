package gitfixture

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ResolveRef returns the commit SHA a full ref name (refs/heads/main)
// points at in repo (bare or not), or "" when there is no such ref. A
// plain ref of the files backend is read from disk, loose or packed, with
// no process: the emulator asks for branch tips on nearly every call, and
// a git rev-parse per question was most of its cost. Anything else (a
// name git would read as a revision expression, a symbolic ref, a linked
// worktree, another ref backend) is asked of git rev-parse, as before.
func ResolveRef(repo, ref string) string {
	if sha, ok := ReadRef(repo, ref); ok {
		return sha
	}
	sha, err := Git(repo, "rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		return ""
	}
	return sha
}

// ReadRef reads ref from the files backend with no process; ok is false
// when it cannot tell on its own and git must be asked.
func ReadRef(repo, ref string) (sha string, ok bool) {
	if !plainRefName(ref) {
		return "", false
	}
	gitDir, ok := gitDirOf(repo)
	if !ok {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref)))
	switch {
	case err == nil:
		line := strings.TrimSpace(string(data))
		if !isSHA(line) {
			return "", false // a symbolic ref, or something git must judge
		}
		return line, true
	case errors.Is(err, os.ErrNotExist):
		return packedRef(gitDir, ref)
	default:
		// A directory in the ref's place (refs/heads/a when refs/heads/a/b
		// exists), or unreadable: git knows best.
		return "", false
	}
}

// packedRef looks ref up in packed-refs; a ref that is neither loose nor
// packed does not exist.
func packedRef(gitDir, ref string) (string, bool) {
	f, err := os.Open(filepath.Join(gitDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return "", true
	}
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		sha, name, found := strings.Cut(line, " ")
		if found && name == ref {
			if !isSHA(sha) {
				return "", false
			}
			return sha, true
		}
	}
	if sc.Err() != nil {
		return "", false
	}
	return "", true
}

// gitDirOf is repo's git directory when it is a plain one of the files
// backend: repo itself when bare, repo/.git otherwise.
func gitDirOf(repo string) (string, bool) {
	for _, dir := range []string{filepath.Join(repo, ".git"), repo} {
		fi, err := os.Stat(filepath.Join(dir, "HEAD"))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		// A linked worktree keeps its refs elsewhere (commondir); the
		// reftable backend keeps them in tables.
		if _, err := os.Stat(filepath.Join(dir, "commondir")); err == nil {
			return "", false
		}
		if fi, err := os.Stat(filepath.Join(dir, "refs")); err != nil || !fi.IsDir() {
			return "", false
		}
		if _, err := os.Stat(filepath.Join(dir, "reftable")); err == nil {
			return "", false
		}
		return dir, true
	}
	return "", false
}

// plainRefName holds for refs/... names made only of the characters
// branch and tag names of the tests use, with no component git would
// refuse or read as a revision expression.
func plainRefName(ref string) bool {
	if !strings.HasPrefix(ref, "refs/") {
		return false
	}
	for _, part := range strings.Split(ref, "/") {
		if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") || strings.HasSuffix(part, ".") {
			return false
		}
	}
	if strings.Contains(ref, "..") {
		return false
	}
	for _, c := range ref {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
