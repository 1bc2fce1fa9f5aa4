package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/internal/gitrun"
)

// Keeping a warm clone as it is. Switching a clone the last run left
// costs a local fetch from the mirror (with the upload-pack, maintenance
// and rev-list it starts), a checkout and a clean, even when the clone is
// already at the commit wanted. That work is skipped when this run can
// prove it would change nothing:
//
//   - the clone's whole .git is byte for byte what this program left
//     after its last git command in the previous run (a digest kept in
//     the root's state file, beside the root where no step writes), so
//     its refs, index, config and sparse patterns are ours, not a step's;
//   - the mirror's refs are what they were then, so a fetch from it would
//     bring nothing, and the ref resolves to the same commit;
//   - git status, trusting that index, finds no tracked file changed
//     (content changes show in the index's stat data: ctime cannot be set
//     back); what it lists as untracked or ignored is removed, as
//     "git clean -ffdx" would.
//
// Anything else takes the long way (reuseClone), which is always right.

// cloneStamp is what one clone was left at, recorded after this program's
// last git command in it and before any step ran.
type cloneStamp struct {
	Ref    string   `json:"ref"`
	Head   string   `json:"head"`
	Tree   string   `json:"tree"`
	Sparse []string `json:"sparse,omitempty"`
	// Mirror digests the mirror's refs, Git the clone's .git.
	Mirror string `json:"mirror"`
	Git    string `json:"git"`
}

// stampBook holds the stamps the last run left in a warm root (prev) and
// the ones this run leaves (next), keyed by checkout path relative to the
// root.
type stampBook struct {
	mu   sync.Mutex
	prev map[string]cloneStamp
	next map[string]cloneStamp
}

func (b *stampBook) previous(key string) (cloneStamp, bool) {
	if b == nil {
		return cloneStamp{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.prev[key]
	return s, ok
}

func (b *stampBook) record(key string, s cloneStamp) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == nil {
		b.next = map[string]cloneStamp{}
	}
	b.next[key] = s
}

func (b *stampBook) recorded() map[string]cloneStamp {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.next
}

// stampKey names a checkout in the book.
func stampKey(lay layout, dir string) string {
	rel, err := filepath.Rel(lay.root, dir)
	if err != nil {
		return dir
	}
	return filepath.ToSlash(rel)
}

// mirrorDigest hashes the mirror's refs (HEAD, packed-refs, loose refs)
// and its path; the caller holds its lock.
func mirrorDigest(m *mirror) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "mirror %s\n", m.dir)
	for _, name := range []string{"HEAD", "packed-refs", "refs"} {
		if err := digestTree(h, m.dir, name); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// gitDirDigest hashes every entry of the clone's .git: names, types,
// modes and contents.
func gitDirDigest(dir string) (string, error) {
	gd := filepath.Join(dir, ".git")
	fi, err := os.Lstat(gd)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", gd)
	}
	h := sha256.New()
	if err := digestTree(h, gd, "."); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestTree writes to h every entry at and below base/rel, in a fixed
// order; a missing rel is written as missing.
func digestTree(h io.Writer, base, rel string) error {
	return filepath.WalkDir(filepath.Join(base, rel), func(p string, d fs.DirEntry, err error) error {
		name, _ := filepath.Rel(base, p)
		if err != nil {
			if os.IsNotExist(err) && p == filepath.Join(base, rel) {
				fmt.Fprintf(h, "missing %q\n", name)
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %v", filepath.ToSlash(name), fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " -> %q\n", target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %d\n", fi.Size())
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		default:
			fmt.Fprintln(h)
		}
		return nil
	})
}

// keepClone says whether the clone at t.dir, left as s by the last run,
// can be used as it is at s.Head: its .git is untouched since, and git
// status finds no tracked file changed. What is untracked or ignored is
// removed on the way, but for t.spare. ok false means: switch it the long
// way; an error only says why.
func keepClone(ctx context.Context, t target, s cloneStamp) (ok bool, why string, err error) {
	d, err := gitDirDigest(t.dir)
	if err != nil {
		return false, "its .git cannot be read", err
	}
	if d != s.Git {
		return false, "its .git changed since the last run", nil
	}
	// The config is ours (it is in the digest), but these settings decide
	// what status trusts, so they are set here whatever it says.
	args := []string{"-c", "core.untrackedCache=false", "-c", "core.trustctime=true", "-c", "core.checkStat=default",
		"-c", "core.ignoreStat=false", "-c", "core.ignoreCase=false", "-c", "status.relativePaths=false",
		"status", "--porcelain=v1", "-z", "--ignored=traditional", "--untracked-files=normal", "--no-renames", "--ignore-submodules=none", "--"}
	// The kept paths (a venv, nested siblings) are not walked.
	for _, sp := range t.spare {
		args = append(args, ":(top,exclude,literal)"+filepath.ToSlash(filepath.Clean(sp)))
	}
	// Not trimmed: a line's first column may be a space.
	raw, err := gitrun.Run(ctx, t.dir, gitrun.Env(gitrun.Hermetic), nil, args...)
	if err != nil {
		return false, "git status failed", err
	}
	var stray []string
	for _, e := range strings.Split(string(raw), "\x00") {
		if e == "" {
			continue
		}
		if len(e) < 4 || e[2] != ' ' {
			return false, "git status printed " + fmt.Sprintf("%q", e), nil
		}
		code, p := e[:2], e[3:]
		if code != "??" && code != "!!" {
			return false, "a tracked file changed: " + p, nil
		}
		stray = append(stray, p)
	}
	for _, p := range stray {
		rel := filepath.Clean(filepath.FromSlash(strings.TrimSuffix(p, "/")))
		if rel == "." || rel == ".git" || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false, fmt.Sprintf("git status named %q", p), nil
		}
		kept := false
		for _, sp := range t.spare {
			sp = filepath.Clean(sp)
			switch {
			case sp == rel || strings.HasPrefix(rel, sp+string(filepath.Separator)):
				kept = true
			case strings.HasPrefix(sp, rel+string(filepath.Separator)):
				// A kept path inside what would go: git clean, told to
				// spare it, sorts that out.
				return false, "a kept path lies in " + p, nil
			}
		}
		if kept {
			continue
		}
		if err := removeTree(filepath.Join(t.dir, rel)); err != nil {
			return false, "remove " + p, err
		}
	}
	return true, "", nil
}

// sameStrings compares two lists as sets of lines, in order.
func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
