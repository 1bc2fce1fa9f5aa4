package ci

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/workspace"
)

// docsExample reads one of provide-workspace's documented wrknv.toml
// examples (workspace/testdata/docs, verbatim) with every
// https://github.com/provide-io/ repository served by f instead, writes it
// as f's wrknv.toml followed by add, and loads it.
func docsExample(t *testing.T, f *fixture, name, add string) *workspace.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "workspace", "testdata", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "https://github.com/provide-io/", f.srv.URL+"/o/") + add
	file := filepath.Join(f.wsDir, "wrknv.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := workspace.Load(file)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// The docs' minimal example, with a test added, builds: every sibling
// checked out at its path.
func TestDocsMinimalExampleBuilds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("provide-foundation", nil)
	f.repo("pyvider", nil)
	cfg := docsExample(t, f, "configuration-reference.toml", `
[workspace.tasks]
test = "test -f ../provide-foundation/README && test -f ../pyvider/README"
`)
	res := runOK(t, f.runner(), Request{Config: cfg, Trusted: true})
	if len(res.Siblings) != 2 || titles(res)[0] != "test workspace" {
		t.Errorf("siblings %v, steps %v", res.Siblings, titles(res))
	}
}

// The docs' full example (tools, python, tasks, env, hooks, layers,
// depends_on) with its repositories made as Python packages, its hook
// scripts written and its test runnable here, builds with the default
// setup. Its [workspace.tools] are checked first: with uv, ruff or mypy
// missing, the verbatim table refuses the run before anything is cloned.
func TestDocsFullExampleBuilds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pkgs := []pyPackage{
		{name: "provide-foundation"},
		{name: "provide-testkit"},
		{name: "pyvider-cty"},
		{name: "pyvider", deps: []string{"provide-foundation", "pyvider-cty"}},
		{name: "flavorpack", deps: []string{"provide-foundation"}},
	}
	for _, p := range pkgs {
		f.repo(p.name, pyFiles(p, "0.1.0", "docs"))
	}
	for p, c := range map[string]string{
		"scripts/pre_install.sh":  "#!/bin/sh\necho pre >> hooks.log\n",
		"scripts/post_install.sh": "#!/bin/sh\necho post >> hooks.log\n",
		"tests/__init__.py":       "",
		"tests/test_docs.py": `import os
import unittest

import flavorpack
import pyvider


class Docs(unittest.TestCase):
    def test_layers(self):
        self.assertIn("pyvider-cty:docs", pyvider.chain())
        self.assertIn("provide-foundation:docs", flavorpack.chain())
        self.assertEqual(os.environ["LOG_LEVEL"], "DEBUG")
`,
	} {
		path := filepath.Join(f.wsDir, p)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	verbatim := docsExample(t, f, "full-with-advanced.toml", "")
	missing := ""
	for _, tool := range verbatim.Workspace.Tools {
		if _, err := exec.LookPath(tool.Name); err != nil && missing == "" {
			missing = tool.Name
		}
	}
	before := f.requests.Load()
	_, err := f.runner().Run(context.Background(), Request{Config: verbatim, Trusted: true})
	var ie *InputError
	if missing != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), missing+" is not on PATH")) {
		t.Errorf("with %s missing: %v", missing, err)
	}
	if missing != "" && f.requests.Load() != before {
		t.Error("the tools check came after cloning")
	}

	// The test task: the docs' "pytest tests/" needs pytest; unittest is
	// what every Python has. Offline, pip and uv must not look for an
	// index.
	cfg := verbatim
	cfg.Workspace.Tools = nil
	cfg.Workspace.Tasks["test"] = []string{"python -m unittest discover -s tests -t ."}
	cfg.Workspace.Env["PIP_NO_INDEX"] = "1"
	cfg.Workspace.Env["UV_OFFLINE"] = "1"
	res := runOK(t, f.runner(), Request{Config: cfg, Trusted: true})
	want := "venv workspace, pre_install workspace, setup provide-foundation, setup provide-testkit, setup pyvider-cty, " +
		"setup pyvider, setup flavorpack, post_install workspace, test workspace"
	if got := strings.Join(titles(res), ", "); got != want {
		t.Errorf("steps\n got %s\nwant %s", got, want)
	}
	if hooks := readFile(t, filepath.Join(res.BuildRoot, "ws", "hooks.log")); hooks != "pre\npost\n" {
		t.Errorf("hooks.log %q", hooks)
	}
}
