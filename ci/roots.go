package ci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/provide-io/workspace-bot/workspace"
)

// DefaultSlots is how many warm build roots one workspace keeps when
// Runner.Slots is 0: one per run that may go at once.
const DefaultSlots = 4

// How a run's build root came to be, as Result.Root says.
const (
	RootReused = "reused" // a warm root an earlier trusted run left
	RootNew    = "new"    // a warm root made anew (first use, --fresh, after an untrusted run, ...)
	RootFresh  = "fresh"  // a temporary root, removed after the run (untrusted code, or every slot busy)
)

// buildRoot is the directory one run builds in.
type buildRoot struct {
	dir  string
	how  string // RootReused, RootNew or RootFresh
	why  string // why a warm root was not reused, for the log
	warm bool   // kept for the next trusted run
	// prevKey is the cache key the root's cache paths were built for by
	// the run that left it; key is this run's, once its setup succeeded
	// (or the paths were already built for it).
	prevKey, key string
	// finish releases the root: a warm root's state is recorded when the
	// run left it whole (complete), a fresh one is removed unless kept.
	finish func(complete bool)
	// tmpfs: the root is in memory (inMemory).
	tmpfs bool
	// stamps are the clones' stamps, the last run's and this one's.
	stamps *stampBook
	// prevSetups are the setups the last run recorded, setups this run's.
	prevSetups, setups map[string]setupStamp
}

// rootState is what a warm root remembers of the run that left it.
type rootState struct {
	// Epoch is the trust epoch the run started in (see bumpEpoch).
	Epoch int64 `json:"epoch"`
	// CacheKey is the key the root's cache paths were built for, "" when
	// unknown.
	CacheKey string `json:"cache_key,omitempty"`
	// Clones are what the run left each clone at (see reuse.go).
	Clones map[string]cloneStamp `json:"clones,omitempty"`
	// Setups are the siblings' last successful setups (see setupskip.go).
	Setups map[string]setupStamp `json:"setups,omitempty"`
}

// acquireRoot finds the build root for a run. A trusted run takes the
// first free warm root of its workspace (a file lock per slot, so runs in
// one process or several never share one), reusing what the last run
// left unless --fresh, the root is incomplete, or an untrusted run has
// happened since (the trust epoch moved). An untrusted run gets a
// temporary root of its own and moves the epoch when it starts and ends,
// so no warm root or cache a trusted run left before or during it is
// used after it.
func (r *Runner) acquireRoot(dataDir string, cfg *workspace.Config, req Request) (*buildRoot, error) {
	rootsDir := filepath.Join(dataDir, "roots")
	if err := os.MkdirAll(rootsDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", rootsDir, err)
	}
	if !req.Trusted {
		if err := bumpEpoch(rootsDir); err != nil {
			return nil, err
		}
		br, err := r.freshRoot(dataDir)
		if err != nil {
			return nil, err
		}
		finish := br.finish
		br.finish = func(complete bool) {
			finish(complete)
			bumpEpoch(rootsDir)
		}
		br.why = "untrusted code gets a root of its own"
		return br, nil
	}
	epoch, err := readEpoch(rootsDir)
	if err != nil {
		return nil, err
	}
	pool := filepath.Join(rootsDir, poolName(cfg))
	if err := os.MkdirAll(pool, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", pool, err)
	}
	slots := r.Slots
	if slots <= 0 {
		slots = DefaultSlots
	}
	for slot := 0; slot < slots; slot++ {
		lock, err := os.OpenFile(filepath.Join(pool, strconv.Itoa(slot)+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if !tryLock(lock) {
			lock.Close()
			continue
		}
		dir := filepath.Join(pool, strconv.Itoa(slot))
		stateFile := dir + ".json"
		br := &buildRoot{dir: dir, how: RootNew, warm: true, stamps: &stampBook{}}
		var st rootState
		data, serr := os.ReadFile(stateFile)
		_, derr := os.Stat(dir)
		switch {
		case derr != nil:
			br.why = "first run in this slot"
		case req.Fresh:
			br.why = "--fresh"
		case serr != nil || json.Unmarshal(data, &st) != nil:
			br.why = "the last run here did not finish its checkout"
		case st.Epoch != epoch:
			br.why = "an untrusted run happened since the last run here"
		default:
			br.how = RootReused
			br.prevKey = st.CacheKey
			br.stamps.prev = st.Clones
			br.prevSetups = st.Setups
		}
		// Until this run records it whole, the root counts as unfinished.
		os.Remove(stateFile)
		if br.how != RootReused {
			if err := removeTree(dir); err != nil {
				lock.Close()
				return nil, fmt.Errorf("clear the build root %s: %w", dir, err)
			}
			st = rootState{}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lock.Close()
			return nil, err
		}
		br.finish = func(complete bool) {
			defer lock.Close()
			if !complete {
				return
			}
			st.Epoch, st.CacheKey, st.Clones, st.Setups = epoch, br.key, br.stamps.recorded(), br.setups
			if data, err := json.Marshal(st); err == nil {
				os.WriteFile(stateFile, data, 0o644)
			}
		}
		return br, nil
	}
	br, err := r.freshRoot(dataDir)
	if err == nil {
		br.why = fmt.Sprintf("all %d warm roots are in use", slots)
	}
	return br, err
}

// freshRoot makes a temporary build root, removed after the run unless
// Runner.Keep.
func (r *Runner) freshRoot(dataDir string) (*buildRoot, error) {
	builds := filepath.Join(dataDir, "builds")
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return nil, fmt.Errorf("create build directory %s: %w", builds, err)
	}
	dir, err := os.MkdirTemp(builds, "run-")
	if err != nil {
		return nil, fmt.Errorf("create build root in %s: %w", builds, err)
	}
	return &buildRoot{dir: dir, how: RootFresh, finish: func(bool) {
		if !r.Keep {
			removeTree(dir)
		}
	}}, nil
}

// poolName names a workspace's warm roots: readable, and unique per
// workspace directory or repository.
func poolName(cfg *workspace.Config) string {
	id := cfg.Dir()
	if cfg.Workspace.Repo != "" {
		id = cfg.Workspace.Repo
	}
	sum := sha256.Sum256([]byte(id))
	name := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, cfg.Workspace.Name)
	return strings.TrimLeft(name, ".-") + "-" + hex.EncodeToString(sum[:])[:10]
}

// The trust epoch counts untrusted runs' starts and ends. Warm roots and
// caches record the epoch they were made in, and are used only while it
// holds.
func readEpoch(rootsDir string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(rootsDir, "epoch"))
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Join(rootsDir, "epoch"), err)
	}
	return n, nil
}

func bumpEpoch(rootsDir string) error {
	lock, err := os.OpenFile(filepath.Join(rootsDir, "epoch.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	n, err := readEpoch(rootsDir)
	if err != nil {
		n = 0
	}
	tmp := filepath.Join(rootsDir, "epoch.tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(n+1, 10)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(rootsDir, "epoch"))
}

// tryLock takes an exclusive lock on f if it is free, or frees up within
// a few milliseconds: a process forked elsewhere in this program holds a
// copy of a just-closed lock until it execs, and a run should not move to
// another root (and its cold venv) for that.
func tryLock(f *os.File) bool {
	for i := 0; i < 5; i++ {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			return true
		}
		time.Sleep(time.Duration(i+1) * 2 * time.Millisecond)
	}
	return false
}
