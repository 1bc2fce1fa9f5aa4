package ci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// confine refuses to check a target out at dir when the path from the
// build root to it goes through a symlink that leaves the root: the
// workspace repository (or a sibling a path runs through) could commit
// nested -> /somewhere and have a sibling cloned there. The lexical check
// of planLayout cannot see symlinks; this runs once what dir goes through
// is on disk, just before the checkout. A symlink that stays inside the
// root is followed.
func confine(lay layout, name, dir string) error {
	if lay.root == "" {
		return nil
	}
	realRoot, err := filepath.EvalSymlinks(lay.root)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(lay.root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return inputErr(fmt.Sprintf("sibling %s: %s is outside the build root", name, dir))
	}
	cur := lay.root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the rest is created by the checkout, as directories
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		link, _ := os.Readlink(cur)
		shown, _ := filepath.Rel(lay.wsDir, cur)
		to, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return inputErr(fmt.Sprintf("sibling %s: its path goes through the symlink %s -> %s, which points nowhere; refusing to check it out there (fix: commit a directory at %s, or change the sibling's path)",
				name, shown, link, shown))
		}
		if in, err := filepath.Rel(realRoot, to); err != nil || in == ".." || strings.HasPrefix(in, ".."+string(filepath.Separator)) {
			return inputErr(fmt.Sprintf("sibling %s: its path goes through the symlink %s -> %s, which leaves the build root; refusing to check it out there (fix: commit a directory at %s, or change the sibling's path)",
				name, shown, link, shown))
		}
	}
	return nil
}

// containers lists, for each target, the targets whose directory holds
// its own: their checkouts decide what its path goes through, so it is
// checked (confine) and checked out only after them.
func containers(targets []target) [][]int {
	out := make([][]int, len(targets))
	for i, t := range targets {
		for j, u := range targets {
			if i != j && strings.HasPrefix(t.dir, u.dir+string(filepath.Separator)) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}
