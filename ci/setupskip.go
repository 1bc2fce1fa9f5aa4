package ci

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/provide-io/workspace-bot/workspace"
)

// Setup skipped when its inputs are unchanged. An editable install picks
// up source changes by itself, so a sibling's setup need not run again
// while the files it is built from are the same. It is skipped when:
//
//   - the run is trusted, not --fresh, and reuses a warm root;
//   - the cache is a hit: the venv (and the other cache paths) are the
//     very ones the last run left, built with the same interpreter;
//   - the last run in this root recorded a successful setup of the
//     sibling, with the same commands and environment, and the same
//     contents of its inputs: [[siblings]].setup_inputs, or for the
//     default setup workspace.DefaultSetupInputs.
//
// A sibling's own setup without setup_inputs always runs: nothing says
// what it reads. What a skipped setup made must live outside the
// checkout (in a cache path): a reused checkout is cleaned.

// setupStamp is a sibling's last successful setup in a warm root.
type setupStamp struct {
	// Inputs digests the setup's commands, environment and input files.
	Inputs string `json:"inputs"`
	// Cache is the cache key the cache paths were built for.
	Cache string `json:"cache"`
	// Run identifies the run that set it up.
	Run string `json:"run"`
}

// runLabel is what identifies req's run in a later run's log: the
// service's run number, or the time it started.
func runLabel(req Request, started time.Time) string {
	if req.RunLabel != "" {
		return req.RunLabel
	}
	return "the run started " + started.UTC().Format("2006-01-02 15:04:05 UTC")
}

// setupInputs are the globs a sibling's setup is built from; nil when a
// setup of its own does not say.
func setupInputs(s *workspace.Sibling) []string {
	if len(s.SetupInputs) > 0 {
		return s.SetupInputs
	}
	if s.HasOwnSetup() {
		return nil
	}
	return workspace.DefaultSetupInputs
}

// setupDigests digests, before anything is set up, each sibling's setup
// whose inputs are known: its planned steps, the configured environment
// and its input files.
func setupDigests(cfg *workspace.Config, lay layout, steps []StepResult) map[string]string {
	cmds := map[string][]string{}
	for _, s := range steps {
		if s.Name == "setup" && s.Sibling != "" {
			cmds[s.Sibling] = append(cmds[s.Sibling], fmt.Sprintf("%d %q", s.Index, s.Command))
		}
	}
	out := map[string]string{}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		globs := setupInputs(s)
		if globs == nil || len(cmds[s.Name]) == 0 {
			continue
		}
		h := sha256.New()
		fmt.Fprintf(h, "steps %q\n", cmds[s.Name])
		fmt.Fprintf(h, "env %q\nci env %q\n", sortedEnv(cfg.Workspace.Env), sortedEnv(cfg.Workspace.CI.Env))
		if err := digestInputs(h, lay.dirs[s.Name], globs); err != nil {
			continue
		}
		out[s.Name] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

func sortedEnv(env map[string]string) []string {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return kv
}

// digestInputs writes the files below dir the globs match, by path and
// content, in order.
func digestInputs(h io.Writer, dir string, globs []string) error {
	seen := map[string]bool{}
	var files []string
	for _, g := range globs {
		m, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(g)))
		if err != nil {
			return err
		}
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	fmt.Fprintf(h, "globs %q\n", globs)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		fi, err := os.Lstat(f)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			fmt.Fprintf(h, "%q %v\n", filepath.ToSlash(rel), fi.Mode())
			continue
		}
		in, err := os.Open(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %d\n", filepath.ToSlash(rel), fi.Size())
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// setupSkips says which siblings' setups this run skips, and for each
// the run that last did it.
func setupSkips(req Request, br *buildRoot, c *runCache, digests map[string]string) map[string]string {
	if !req.Trusted || req.Fresh || br == nil || br.how != RootReused || c == nil || c.state != CacheHit {
		return nil
	}
	out := map[string]string{}
	for name, d := range digests {
		prev, ok := br.prevSetups[name]
		if ok && prev.Inputs == d && prev.Cache == c.key {
			out[name] = prev.Run
		}
	}
	return out
}

// recordSetups keeps, once every setup step succeeded, what each sibling
// with known inputs was set up from, for the next run in this root: the
// run that last ran it (this one, or the one a skipped setup names).
func recordSetups(br *buildRoot, c *runCache, digests map[string]string, skipped map[string]bool, label string) {
	if br == nil || !br.warm || c == nil || br.key != c.key {
		return
	}
	next := map[string]setupStamp{}
	for name, d := range digests {
		run := label
		if skipped[name] {
			run = br.prevSetups[name].Run
		}
		next[name] = setupStamp{Inputs: d, Cache: c.key, Run: run}
	}
	br.setups = next
}
