package ci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
)

// Python versions remembered. Asking a pyenv shim "python3 --version"
// starts bash and pyenv's scripts: 0.5-1.4 s on two cores, more than a
// whole warm re-run. A version is asked once and kept in the data dir
// (where no step writes), under a key made of everything that decides
// what the program prints:
//
//   - a binary (or a symlink to one): its real path and its inode, size,
//     mtime and ctime, which any replacement changes;
//   - a pyenv shim: the shim's bytes, and what pyenv reads to choose a
//     version (PYENV_VERSION, .python-version from the directory it is
//     asked in upward, $PYENV_ROOT/version), pyenv's own scripts and
//     hooks, and the chosen versions' binaries as above;
//   - any other script: nothing is kept, it is asked every time.
//
// A run that cannot trust what earlier runs left (--fresh, untrusted
// code) asks again.

// versionBook is the kept versions of one data dir.
type versionBook struct {
	file string
	mu   sync.Mutex
}

// versions maps a key to the version printed.
type versions map[string]string

func (b *versionBook) load() versions {
	v := versions{}
	if data, err := os.ReadFile(b.file); err == nil {
		json.Unmarshal(data, &v)
	}
	return v
}

// lookup returns the kept version of the program at path, asking it
// (ask) when none is kept or its key cannot be made.
func (b *versionBook) lookup(path string, find finder, ask func() string) string {
	if b == nil {
		return ask()
	}
	key, ok := versionKey(path, find)
	if !ok {
		return ask()
	}
	b.mu.Lock()
	if v := b.load()[key]; v != "" {
		b.mu.Unlock()
		return v
	}
	b.mu.Unlock()
	v := ask()
	if v == "" {
		return v
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	all := b.load()
	if len(all) > 64 {
		all = versions{} // old keys of interpreters long gone
	}
	all[key] = v
	if data, err := json.Marshal(all); err == nil {
		// Runs of other processes write it too: whole files only.
		os.MkdirAll(filepath.Dir(b.file), 0o755)
		if tmp, err := os.CreateTemp(filepath.Dir(b.file), ".versions-"); err == nil {
			_, werr := tmp.Write(data)
			if tmp.Close() == nil && werr == nil {
				os.Rename(tmp.Name(), b.file)
			}
			os.Remove(tmp.Name())
		}
	}
	return v
}

// versionKey is the key of the program at path, or ok false when
// nothing but running it can say what it prints.
func versionKey(path string, find finder) (key string, ok bool) {
	h := sha256.New()
	uid := -1
	if find.user != nil {
		uid = int(find.user.UID)
	}
	fmt.Fprintf(h, "path %q\nPATH %q\nHOME %q\nuid %d\n", path, find.pathList(), os.Getenv("HOME"), uid)
	if !identity(h, path) {
		return "", false
	}
	head := make([]byte, 4096)
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	n, _ := f.Read(head)
	f.Close()
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("#!")) {
		return hex.EncodeToString(h.Sum(nil)), true
	}
	if !pyenvShim(h, path, head) {
		return "", false
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// identity writes what identifies the file at path (following
// symlinks): its real path and its inode, size, mode, mtime and ctime.
func identity(h hash.Hash, path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	fi, err := os.Stat(real)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	fmt.Fprintf(h, "file %q dev %d ino %d size %d mode %v mtime %d.%d ctime %d.%d\n",
		real, st.Dev, st.Ino, st.Size, fi.Mode(), st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	return true
}

// A pyenv shim names pyenv's root and runs "pyenv exec".
var (
	shimRoot = regexp.MustCompile(`(?m)^export PYENV_ROOT="([^"$` + "`" + `\\]+)"$`)
	shimExec = regexp.MustCompile(`(?m)^exec "([^"$` + "`" + `\\]+)/libexec/pyenv" exec "\$program" "\$@"$`)
)

// pyenvShim writes the key of a pyenv shim whose first bytes are head:
// everything pyenv reads to choose and run a version. ok is false for
// anything else, and for the "system" version (found on PATH by means
// this does not follow).
func pyenvShim(h hash.Hash, path string, head []byte) bool {
	root := shimRoot.FindSubmatch(head)
	exe := shimExec.FindSubmatch(head)
	if root == nil || exe == nil || !bytes.Equal(root[1], exe[1]) || !filepath.IsAbs(string(root[1])) {
		return false
	}
	pyenvRoot := string(root[1])
	fmt.Fprintf(h, "shim %x\n", sha256.Sum256(head))
	// The version asked for: the environment, then .python-version from
	// the directory the program is asked in upward, then the global file.
	env := ""
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV_") {
			env += kv + "\n"
		}
	}
	fmt.Fprintf(h, "env %q\n", env)
	dir, err := os.Getwd()
	if err != nil {
		return false
	}
	var chosen string
	for {
		if chosen == "" {
			if data, err := os.ReadFile(filepath.Join(dir, ".python-version")); err == nil {
				chosen = string(data)
			}
		}
		fmt.Fprintf(h, "local %q %q\n", dir, chosen)
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	global, _ := os.ReadFile(filepath.Join(pyenvRoot, "version"))
	fmt.Fprintf(h, "global %q\n", global)
	if chosen == "" {
		chosen = string(global)
	}
	names := strings.Fields(chosen)
	if len(names) == 0 {
		return false
	}
	program := filepath.Base(path)
	for _, name := range names {
		if name == "system" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
			return false
		}
		if !identity(h, filepath.Join(pyenvRoot, "versions", name, "bin", program)) {
			return false
		}
	}
	// pyenv's scripts, its plugins' commands (found before its own) and
	// the hooks they run.
	dirs := []string{filepath.Join(pyenvRoot, "libexec"), filepath.Join(pyenvRoot, "pyenv.d"),
		"/usr/local/etc/pyenv.d", "/etc/pyenv.d", "/usr/lib/pyenv/hooks"}
	plugins, _ := filepath.Glob(filepath.Join(pyenvRoot, "plugins", "*"))
	for _, p := range plugins {
		dirs = append(dirs, filepath.Join(p, "bin"), filepath.Join(p, "etc", "pyenv.d"))
	}
	fmt.Fprintf(h, "plugins %q\n", plugins)
	for _, d := range dirs {
		if !statTree(h, d) {
			return false
		}
	}
	return true
}

// statTree writes every entry's name, size, mode and times below dir
// (following no symlinks), or that dir is missing.
func statTree(h hash.Hash, dir string) bool {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && p == dir {
				fmt.Fprintf(h, "missing %q\n", dir)
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("no stat")
		}
		fmt.Fprintf(h, "%q ino %d size %d mode %v mtime %d.%d ctime %d.%d\n", p, st.Ino, st.Size, fi.Mode(), st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %q\n", target)
		}
		return nil
	})
	return err == nil
}

// versionFor is versionOf through the finder's book, when it has one.
func versionFor(ctx context.Context, path string, find finder) string {
	return find.versions.lookup(path, find, func() string { return versionOf(ctx, path, find) })
}
