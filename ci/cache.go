package ci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/workspace"
)

// How the cache served a run, as Result.Cache says.
const (
	CacheHit      = "hit"      // the paths were built for these inputs at this very path: the default setup did not run
	CacheRestored = "restored" // restored from an entry made at another path: the setup ran on top of it
	CacheMiss     = "miss"     // nothing for these inputs: the setup built it, and it was saved
)

// cacheEntries is how many entries a workspace keeps; older ones go.
const cacheEntries = 3

// defaultKeyFiles are what a venv of editable installs depends on, in
// each sibling and in the workspace: hashed when [workspace.ci].cache
// declares no key, with every requirements*.txt
// (workspace.DefaultSetupInputs).
var defaultKeyFiles = []string{"pyproject.toml", "uv.lock", "setup.py", "setup.cfg"}

// cachePaths are the paths kept between runs, relative to the workspace
// root: [workspace.ci].cache paths or, when none are declared and a
// sibling may take the default setup, the shared venv.
func cachePaths(cfg *workspace.Config) []string {
	var out []string
	for _, p := range cfg.Workspace.CI.Cache.Paths {
		out = append(out, filepath.Clean(p))
	}
	if len(out) > 0 {
		return out
	}
	for i := range cfg.Siblings {
		if !cfg.Siblings[i].HasOwnSetup() {
			venv := cfg.Workspace.Python.VenvPath
			if venv == "" {
				venv = workspace.DefaultVenvPath
			}
			return []string{filepath.Clean(venv)}
		}
	}
	return nil
}

// runCache is one run's use of the cache.
type runCache struct {
	paths []string // relative to the workspace root
	key   string
	dir   string // the entry for key
	state string
}

// openCache is the run's cache, or nil when it caches nothing.
func openCache(cfg *workspace.Config, lay layout, py interpreter, dataDir string) (*runCache, error) {
	paths := cachePaths(cfg)
	if len(paths) == 0 {
		return nil, nil
	}
	key, err := cacheKey(cfg, lay, py, cfg.Plan(facts(cfg, lay, py)), paths)
	if err != nil {
		return nil, err
	}
	return &runCache{paths: paths, key: key, dir: filepath.Join(dataDir, "cache", poolName(cfg), key)}, nil
}

// cacheMeta is stored with an entry.
type cacheMeta struct {
	Key   string    `json:"key"`
	Root  string    `json:"root"` // the build root it was made in
	Epoch int64     `json:"epoch"`
	Made  time.Time `json:"made"`
}

// cacheKey hashes what the cached paths are built from: the files the
// key globs match (relative to the build root), or by default every
// sibling's and the workspace's pyproject.toml, uv.lock, setup.py and
// setup.cfg; the interpreter; the setup commands; and the paths
// themselves. The build root's own path is not in it: an entry is
// restored anywhere, but only skips the setup where it was made.
func cacheKey(cfg *workspace.Config, lay layout, py interpreter, plan workspace.Plan, paths []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "paths %q\ninterpreter %s %s\n", paths, py.path, py.version)
	for _, ph := range plan.Phases {
		switch ph.Kind {
		case workspace.PhaseSiblingTests, workspace.PhaseTests, workspace.PhaseTask:
			continue
		}
		for _, l := range ph.Lanes {
			for _, st := range l {
				fmt.Fprintf(h, "step %s %s %d %q\n", st.Name, st.Sibling, st.Index, st.Command)
			}
		}
	}
	var files []string
	if globs := cfg.Workspace.CI.Cache.Key; len(globs) > 0 {
		for _, g := range globs {
			m, err := filepath.Glob(filepath.Join(lay.root, g))
			if err != nil {
				return "", inputErr(fmt.Sprintf("[workspace.ci].cache key %q: %v (fix: use a glob such as \"*/pyproject.toml\")", g, err))
			}
			files = append(files, m...)
		}
	} else {
		dirs := []string{lay.wsDir}
		for _, d := range lay.dirs {
			dirs = append(dirs, d)
		}
		for _, d := range dirs {
			for _, f := range defaultKeyFiles {
				files = append(files, filepath.Join(d, f))
			}
			reqs, _ := filepath.Glob(filepath.Join(d, "requirements*.txt"))
			files = append(files, reqs...)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		rel, _ := filepath.Rel(lay.root, f)
		fh := sha256.New()
		in, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(fh, in)
		in.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %x\n", filepath.ToSlash(rel), fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// restore puts the cached paths in place before the setup and says
// whether the default setup can be skipped: when the reused root already
// holds them for this key, or the entry for this key was made in this
// very root (a venv's editable installs name their siblings' absolute
// paths, and its scripts its own). Anything else at those paths goes
// first. --fresh restores nothing.
func (c *runCache) restore(lay layout, br *buildRoot, epoch int64, fresh bool) (skipSetup bool, err error) {
	present := true
	for _, p := range c.paths {
		if _, err := os.Lstat(filepath.Join(lay.wsDir, p)); err != nil {
			present = false
		}
	}
	if !fresh && br.prevKey == c.key && present {
		c.state, br.key = CacheHit, c.key
		return true, nil
	}
	if err := c.clear(lay); err != nil {
		return false, err
	}
	meta, ok := readMeta(c.dir)
	if fresh || !ok || meta.Epoch != epoch || meta.Key != c.key {
		return false, nil
	}
	for _, p := range c.paths {
		src := filepath.Join(c.dir, "files", p)
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		dst := filepath.Join(lay.wsDir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return false, err
		}
		if err := copyTree(src, dst, func(string) bool { return false }); err != nil {
			return false, fmt.Errorf("restore %s from the cache: %w", p, err)
		}
	}
	if meta.Root == lay.root {
		c.state, br.key = CacheHit, c.key
		return true, nil
	}
	c.state = CacheRestored
	return false, nil
}

// clear removes the cache paths from the build root: the setup builds
// them from nothing.
func (c *runCache) clear(lay layout) error {
	c.state = CacheMiss
	for _, p := range c.paths {
		if err := removeTree(filepath.Join(lay.wsDir, p)); err != nil {
			return err
		}
	}
	return nil
}

// save stores the paths after a successful setup, replacing the entry
// for this key, and drops all but the newest entries of the workspace.
func (c *runCache) save(lay layout, br *buildRoot, epoch int64) error {
	if c.state == CacheHit {
		return nil
	}
	parent := filepath.Dir(c.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".saving-")
	if err != nil {
		return err
	}
	defer removeTree(tmp)
	for _, p := range c.paths {
		src := filepath.Join(lay.wsDir, p)
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		dst := filepath.Join(tmp, "files", p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyTree(src, dst, func(string) bool { return false }); err != nil {
			return fmt.Errorf("save %s to the cache: %w", p, err)
		}
	}
	data, _ := json.Marshal(cacheMeta{Key: c.key, Root: lay.root, Epoch: epoch, Made: time.Now()})
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), data, 0o644); err != nil {
		return err
	}
	if err := removeTree(c.dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.dir); err != nil {
		return err
	}
	br.key = c.key
	pruneCache(parent)
	return nil
}

func readMeta(dir string) (cacheMeta, bool) {
	var m cacheMeta
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil || json.Unmarshal(data, &m) != nil {
		return m, false
	}
	return m, true
}

// pruneCache keeps the newest cacheEntries entries in dir.
func pruneCache(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		made time.Time
	}
	var all []entry
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, _ := readMeta(filepath.Join(dir, e.Name()))
		all = append(all, entry{e.Name(), m.Made})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].made.After(all[j].made) })
	for i := cacheEntries; i < len(all); i++ {
		removeTree(filepath.Join(dir, all[i].name))
	}
}
