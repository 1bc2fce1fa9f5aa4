package release

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/workspace"
)

// trainConfig is a workspace of five siblings: foundation <- pyvider <-
// pyvider-cty, tofusoup, and wire released with tofusoup.
const trainConfig = `
[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"

[workspace.release]
fixed = [["tofusoup", "wire"]]

[[siblings]]
name = "provide-foundation"
repo = "https://github.com/acme/provide-foundation.git"
layer = "foundation"

[[siblings]]
name = "pyvider"
repo = "https://github.com/acme/pyvider.git"
layer = "framework"
depends_on = ["provide-foundation"]

[[siblings]]
name = "pyvider-cty"
repo = "https://github.com/acme/pyvider-cty.git"
layer = "framework"
depends_on = ["pyvider"]

[[siblings]]
name = "tofusoup"
repo = "https://github.com/acme/tofusoup.git"
layer = "tools"

[[siblings]]
name = "wire"
repo = "https://github.com/acme/wire.git"
layer = "tools"
`

// Files as people write them: comments, odd spacing, other tables.
const (
	foundationPyproject = `[build-system]
requires = ["setuptools>=68"]   # keep

[project]
name = "provide-foundation"
dynamic = ["version"]
description = "the base"
dependencies = ["attrs>=23.1"]
`
	pyviderPyproject = `# pyvider
[project]
name    = "pyvider"
version = "1.2.3"     # bumped by workspace-bot
dependencies = [
    "attrs >= 23.1",
    # the foundation
    "provide-foundation[logging] >=0.4.0, <0.5",  # pinned to the 0.4 line
]

[tool.version]
version = "9.9.9"
`
	ctyPyproject = `[project]
name = 'pyvider-cty'
version = '0.3.0'
dependencies = ['pyvider==1.2.3', "provide_foundation>=0.1"]
`
	soupPyproject = `[project]
name = "tofusoup"
version = "2.0.0"
`
	pyviderChangelog = `# Changelog

All notable changes are listed here.

## 1.2.3 - 2025-01-01

- Fixed things.
`
)

// train builds the five repositories under root and returns the config.
func train(t *testing.T, root string) (*workspace.Config, map[string]*repo) {
	t.Helper()
	cfg, _, err := workspace.Parse(filepath.Join(root, "ws", "wrknv.toml"), []byte(trainConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := map[string]*repo{}
	for _, s := range cfg.Siblings {
		r[s.Name] = newRepo(t, filepath.Join(root, s.Name))
	}
	r["provide-foundation"].commit(map[string]string{"VERSION": "0.4.0\n", "pyproject.toml": foundationPyproject}, "initial")
	r["provide-foundation"].tag("v0.4.0")
	r["provide-foundation"].commit(map[string]string{
		".changeset/brave-fox.md": "---\n\"provide-foundation\": minor\n\"tofusoup\": patch\n---\n\nAdd structured logging.\n",
		".changeset/calm-owl.md":  "---\nprovide-foundation: patch\n---\n\nFix a typo\nin two lines.\n",
		".changeset/README.md":    "# Changesets\n",
		"src/x.py":                "x = 1\n",
	}, "feat: logging")
	r["pyvider"].commit(map[string]string{"pyproject.toml": pyviderPyproject, "CHANGELOG.md": pyviderChangelog}, "initial")
	r["pyvider"].tag("v1.2.3")
	r["pyvider"].commit(map[string]string{"README.md": "docs\n"}, "docs: readme")
	r["pyvider-cty"].commit(map[string]string{"pyproject.toml": ctyPyproject}, "initial")
	r["pyvider-cty"].tag("0.3.0")
	r["tofusoup"].commit(map[string]string{"pyproject.toml": soupPyproject}, "initial")
	r["tofusoup"].tag("v2.0.0")
	r["tofusoup"].commit(map[string]string{"a": "a"}, "feat: soup gets a feature") // named by a fragment: ignored
	r["wire"].commit(map[string]string{"VERSION": "0.1.0"}, "initial")
	r["wire"].tag("v0.1.0")
	return cfg, r
}

func readAll(t *testing.T, cfg *workspace.Config, repos map[string]*repo) map[string]*State {
	t.Helper()
	states := map[string]*State{}
	for name, r := range repos {
		st, err := Read(t.Context(), name, r.dir)
		if err != nil {
			t.Fatal(err)
		}
		states[name] = st
	}
	return states
}

func TestPlanTrain(t *testing.T) {
	cfg, repos := train(t, t.TempDir())
	plan, err := NewPlan(cfg, readAll(t, cfg, repos), "2026-05-01")
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := plan.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	golden(t, "train/plan.txt", table.String())

	data, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "train/plan.json", string(data)+"\n")
	var back struct {
		Siblings []struct {
			Name, Old, New, Bump string
			Why                  []string
		}
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range back.Siblings {
		got[s.Name] = s.Old + "->" + s.New + " " + s.Bump
	}
	want := map[string]string{
		"provide-foundation": "0.4.0->0.5.0 minor", // minor beats patch: the highest bump wins
		"pyvider":            "1.2.3->1.2.4 patch", // its range excluded 0.5.0
		"pyvider-cty":        "0.3.0->0.3.1 patch", // its pin excluded 1.2.4: two levels
		"tofusoup":           "2.0.0->2.0.1 patch", // named in foundation's fragment
		"wire":               "0.1.0->0.1.1 patch", // fixed with tofusoup
	}
	if len(got) != len(want) {
		t.Errorf("siblings = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}

	// Every edited file, byte for byte: only the version and range spans
	// change, comments and spacing stay.
	for _, e := range plan.Entries {
		files, err := plan.Changes(e)
		if err != nil {
			t.Fatal(err)
		}
		for p, data := range files {
			name := "train/" + e.Sibling + "/" + strings.TrimPrefix(strings.ReplaceAll(p, "/", "_"), ".")
			if data == nil {
				golden(t, name, "(removed)\n")
				continue
			}
			golden(t, name, string(data))
		}
	}
	if files, _ := plan.Changes(plan.Entry("provide-foundation")); len(files) != 4 || files[".changeset/README.md"] != nil {
		t.Errorf("foundation files: %v", keys(files))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPlanConventionalCommits(t *testing.T) {
	root := t.TempDir()
	cfg, _, err := workspace.Parse(filepath.Join(root, "ws", "wrknv.toml"), []byte(`
[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"
[[siblings]]
name = "zero"
layer = "foundation"
[[siblings]]
name = "one"
layer = "foundation"
[[siblings]]
name = "fixes"
layer = "foundation"
[[siblings]]
name = "quiet"
layer = "foundation"
[[siblings]]
name = "untagged"
layer = "foundation"
`))
	if err != nil {
		t.Fatal(err)
	}
	zero := newRepo(t, filepath.Join(root, "zero"))
	zero.commit(map[string]string{"VERSION": "0.8.0\n"}, "feat!: before the tag, ignored")
	zero.tag("v0.8.0")
	zero.commit(map[string]string{"VERSION": "0.9.0\n"}, "chore: release 0.9.0")
	zero.tag("0.9.0") // the highest tag wins, with or without v
	zero.commit(map[string]string{"a": "1"}, "feat(api)!: drop the old call")
	zero.commit(map[string]string{"a": "2"}, "fix: a")
	one := newRepo(t, filepath.Join(root, "one"))
	one.commit(map[string]string{"pyproject.toml": "[project]\nname = \"one\"\nversion = \"1.4.2\"\n"}, "init")
	one.tag("v1.4.2")
	one.commit(map[string]string{"a": "1"}, "fix: parse\n\nBREAKING CHANGE: the parser rejects tabs")
	fixes := newRepo(t, filepath.Join(root, "fixes"))
	fixes.commit(map[string]string{"VERSION": "1.0.0\n"}, "init")
	fixes.tag("v1.0.0")
	fixes.commit(map[string]string{"a": "1"}, "perf: faster")
	fixes.commit(map[string]string{"a": "2"}, "fix: right")
	fixes.commit(map[string]string{"a": "3"}, "chore: deps")
	quiet := newRepo(t, filepath.Join(root, "quiet"))
	quiet.commit(map[string]string{"VERSION": "3.0.0\n"}, "feat: before")
	quiet.tag("v3.0.0")
	quiet.commit(map[string]string{"a": "1"}, "docs: words")
	untagged := newRepo(t, filepath.Join(root, "untagged"))
	untagged.commit(map[string]string{"VERSION": "0.0.1\n"}, "feat: first")

	states := map[string]*State{}
	for name, r := range map[string]*repo{"zero": zero, "one": one, "fixes": fixes, "quiet": quiet, "untagged": untagged} {
		if states[name], err = Read(t.Context(), name, r.dir); err != nil {
			t.Fatal(err)
		}
	}
	if states["zero"].LastTag != "0.9.0" || len(states["zero"].Commits) != 2 {
		t.Errorf("zero: last tag %q, %d commits", states["zero"].LastTag, len(states["zero"].Commits))
	}
	plan, err := NewPlan(cfg, states, "2026-05-01")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"zero":     "0.9.0 0.10.0 breaking: commits since 0.9.0", // breaking in 0.x bumps minor
		"one":      "1.4.2 2.0.0 breaking: commits since v1.4.2",
		"fixes":    "1.0.0 1.0.1 perf: commits since v1.0.0",
		"untagged": "0.0.1 0.1.0 feat: commits (no release tag yet)",
	}
	if len(plan.Entries) != len(want) {
		t.Errorf("entries: %d, want %d (quiet has nothing to release)", len(plan.Entries), len(want))
	}
	for _, e := range plan.Entries {
		if got := e.Old + " " + e.New + " " + strings.Join(e.Why, "; "); got != want[e.Sibling] {
			t.Errorf("%s: %q, want %q", e.Sibling, got, want[e.Sibling])
		}
	}
	if got := plan.Section(plan.Entry("fixes")); got != "## 1.0.1 - 2026-05-01\n\n- perf: faster\n- fix: right\n" {
		t.Errorf("fixes section = %q", got)
	}
}

func TestPlanInputErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"unknown package": {map[string]string{"VERSION": "1.0.0", ".changeset/a.md": "---\n\"nope\": minor\n---\nx\n"},
			`.changeset/a.md names "nope", which is not a sibling's name or package (fix: use one of`},
		"bad VERSION": {map[string]string{"VERSION": "1.0\n"}, `VERSION: "1.0" is not MAJOR.MINOR.PATCH (fix`},
		"bad pyproject version": {map[string]string{"pyproject.toml": "[project]\nname = \"a\"\nversion = \"one\"\n"},
			`pyproject.toml: [project] version: "one" is not MAJOR.MINOR.PATCH`},
		"no version": {map[string]string{".changeset/a.md": "---\nsolo: patch\n---\nx\n"},
			"has no version (fix: add a VERSION file"},
		"broken toml": {map[string]string{"pyproject.toml": "[project\n"}, "pyproject.toml: not valid TOML"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			cfg, _, err := workspace.Parse(filepath.Join(root, "ws", "wrknv.toml"), []byte("[workspace]\nname = \"ws\"\nrepo = \"https://github.com/acme/ws.git\"\n[[siblings]]\nname = \"solo\"\nlayer = \"foundation\"\n"))
			if err != nil {
				t.Fatal(err)
			}
			r := newRepo(t, filepath.Join(root, "solo"))
			r.commit(tc.files, "feat: x")
			st, err := Read(t.Context(), "solo", r.dir)
			if err == nil {
				_, err = NewPlan(cfg, map[string]*State{"solo": st}, "")
			}
			var ie *InputError
			if !asInput(err, &ie) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "solo") {
				t.Errorf("err = %v, want an input error with %q", err, tc.want)
			}
		})
	}
}
