package ci

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// runOK runs req and fails the test with every step's log unless it
// succeeded.
func runOK(t *testing.T, r *Runner, req Request) *Result {
	t.Helper()
	res, err := r.Run(context.Background(), req)
	if err != nil || res.Result != Success {
		var b strings.Builder
		if res != nil {
			for _, s := range res.Steps {
				b.WriteString("\n--- " + s.Title() + " " + string(s.Result) + ": " + s.Command + "\n" + s.Log)
			}
		}
		t.Fatalf("run: %v, result %v%s", err, res, b.String())
	}
	return res
}

// titles lists the steps as "name sibling" with their results.
func titles(res *Result) []string {
	var out []string
	for _, s := range res.Steps {
		if s.Name != "checkout" {
			out = append(out, s.Title())
		}
	}
	return out
}

// The ecosystem's setup by default: one shared venv, every sibling
// installed editable into it in build order, hooks around it, the
// siblings' own tests and the workspace's, all from wrknv.toml's
// documented keys. Then the warm path: the root reused and the venv kept
// while nothing it was built from changes (TestWarmRootsAndCache covers
// the rest without a venv's cost).
func TestPythonWorkspace(t *testing.T) {
	t.Parallel()
	w := newPyWorkspace(t)
	cfg := w.config(t, "", nil)
	r := w.runner()
	ctx := Request{Config: cfg, Trusted: true}

	// A first run: a new root, nothing cached, the default setup.
	res := runOK(t, r, ctx)
	if res.Root != RootNew || res.Cache != CacheMiss {
		t.Errorf("first run: root %q cache %q, want new and miss", res.Root, res.Cache)
	}
	want := []string{"venv workspace", "pre_install workspace",
		"setup pyfoundation", "setup pyframework", "setup pyplugin", "setup pytools",
		"post_install workspace",
		"test pyfoundation", "test pyframework", "test pyplugin", "test pytools", "test workspace"}
	if got := titles(res); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("steps\n got %v\nwant %v", got, want)
	}
	for _, s := range stepsOf(res, "setup", "*") {
		if !strings.Contains(s.Command, "-m pip install -e .") && !strings.Contains(s.Command, "uv pip install") {
			t.Errorf("default setup of %s is %q", s.Sibling, s.Command)
		}
		if s.Cached || s.Result != Success {
			t.Errorf("first run's setup of %s: %+v", s.Sibling, s)
		}
	}
	wsDir := filepath.Join(res.BuildRoot, "ws")
	if chain := readFile(t, filepath.Join(wsDir, "chain.txt")); !strings.Contains(chain, "pyplugin:one(pyfoundation:one)") {
		t.Errorf("the integration test saw %q", chain)
	}
	// The hooks ran around the installs: none installed before, four after.
	if hooks := readFile(t, filepath.Join(wsDir, "hooks.log")); !strings.HasSuffix(hooks, " 0\npost 4\n") {
		t.Errorf("hooks.log:\n%s", hooks)
	}
	// Each sibling's own tests are its own in the report and the JSON.
	data, _ := json.Marshal(res)
	if !strings.Contains(string(data), `"name":"test","sibling":"pyplugin","index":1`) {
		t.Errorf("JSON does not attribute pyplugin's test: %s", data)
	}
	if tail := stepsOf(res, "test", "pyplugin")[0].Log; !strings.Contains(tail, "Ran 2 tests") {
		t.Errorf("pyplugin's tests did not run: %q", tail)
	}

	// Nothing changed: the same root, the venv kept, no setup.
	res = runOK(t, r, ctx)
	if res.Root != RootReused || res.Cache != CacheHit || res.BuildRoot != filepath.Dir(wsDir) {
		t.Errorf("second run: root %q at %s, cache %q; want reused and hit", res.Root, res.BuildRoot, res.Cache)
	}
	for _, s := range res.Steps {
		if (s.Name == "setup" || s.Name == "venv") != s.Cached {
			t.Errorf("second run: %s cached = %v", s.Title(), s.Cached)
		}
		if s.Name == "setup" && !strings.HasPrefix(s.LogTail, "setup skipped: inputs unchanged since the run started ") {
			t.Errorf("second run: %s says %q", s.Title(), s.LogTail)
		}
	}

	// A sibling's code changes: the editable install serves it as is.
	p := pyPackages[2]
	w.commit(p.name, "main", "", map[string]string{"src/pyplugin/__init__.py": pyFiles(p, "0.1.0", "two")["src/pyplugin/__init__.py"]})
	res = runOK(t, r, ctx)
	if res.Root != RootReused || res.Cache != CacheHit {
		t.Errorf("after a code change: root %q cache %q", res.Root, res.Cache)
	}
	if chain := readFile(t, filepath.Join(wsDir, "chain.txt")); !strings.Contains(chain, "pyplugin:two") {
		t.Errorf("the changed sibling is not what the test imported: %q", chain)
	}
	if sr := siblingResult(t, res, "pyfoundation"); sr.Fetch != fetchTipSame {
		t.Errorf("pyfoundation did not move, yet: %+v", sr)
	}

	// Its pyproject.toml changes: the setup runs again.
	w.commit(p.name, "main", "", map[string]string{"pyproject.toml": pyFiles(p, "0.1.1", "two")["pyproject.toml"]})
	res = runOK(t, r, ctx)
	if s := stepsOf(res, "setup", p.name); len(s) != 1 || s[0].Cached || res.Cache == CacheHit {
		t.Errorf("after a pyproject.toml change: cache %q, setup %+v", res.Cache, s)
	}

}
