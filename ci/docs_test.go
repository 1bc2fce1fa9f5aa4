package ci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/scripttest"
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
	// Three siblings have a failing test, run by their own suites in the
	// second run below.
	failing := []string{"provide-foundation", "pyvider-cty", "flavorpack"}
	for _, p := range pkgs {
		files := pyFiles(p, "0.1.0", "docs")
		if slices.Contains(failing, p.name) {
			files["tests/test_named.py"] = namedFailure
		}
		f.repo(p.name, files)
	}
	for p, c := range map[string]string{
		"scripts/pre_install.sh":  "#!/bin/sh\necho pre >> hooks.log\n",
		"scripts/post_install.sh": "#!/bin/sh\necho post >> hooks.log\n",
		"scripts/pytest_junit.py": pytestJUnit,
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
		scripttest.Write(t, path, c)
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

	// The siblings' own suites, as pytest would run them: the default
	// setup points pytest's --junitxml at the step's reports directory,
	// and the failures come back by name, in the sibling's repository.
	for _, name := range failing {
		cfg.Sibling(name).Test = []string{`python "$WORKSPACE_ROOT/scripts/pytest_junit.py"`}
	}
	res, err = f.runner().Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || res.Result != Failure {
		t.Fatalf("%v: %s %s", err, res.Result, res.Error)
	}
	total, per := res.Tests()
	if total.Words() != "6 passed, 3 failed" || len(per) != 3 {
		t.Errorf("tests %s, per sibling %+v", total.Words(), per)
	}
	failed, _ := res.FailedTests()
	var got []string
	for _, c := range failed {
		got = append(got, fmt.Sprintf("%s %s %s:%d %s", c.Sibling, c.ID, c.Path, c.Line, strings.SplitN(c.Message, "\n", 2)[0]))
	}
	slices.Sort(got)
	var named []string
	for _, name := range failing {
		named = append(named, name+" tests.test_named.Named::test_named_failure tests/test_named.py:6 AssertionError: '<b>@team</b>' != 'expected'")
	}
	slices.Sort(named)
	if strings.Join(got, "\n") != strings.Join(named, "\n") {
		t.Errorf("failed tests\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(named, "\n     "))
	}
}

// namedFailure is a test that fails with a message carrying Markdown, HTML
// and a mention, as test output can.
const namedFailure = `import unittest


class Named(unittest.TestCase):
    def test_named_failure(self):
        self.assertEqual("<b>@team</b>", "expected")
`

// pytestJUnit stands in for pytest, which is not installed where these
// tests run and cannot be installed offline: it runs a directory's
// unittest tests and writes the JUnit XML pytest's --junitxml writes by
// default (xunit2: classname and name, a failure's message, and its
// traceback ending "path:line: ErrorType"), to the file PYTEST_ADDOPTS
// names.
const pytestJUnit = `import os
import sys
import traceback
import unittest
from xml.sax.saxutils import escape, quoteattr

out = [a.split("=", 1)[1] for a in os.environ["PYTEST_ADDOPTS"].split() if a.startswith("--junitxml=")][0]
cases = []


class Result(unittest.TestResult):
    def addSuccess(self, test):
        cases.append((test, None))

    def addFailure(self, test, err):
        cases.append((test, err))

    addError = addFailure


unittest.defaultTestLoader.discover("tests", top_level_dir=".").run(Result())
rows, failed = [], 0
for test, err in cases:
    mod, cls, name = test.id().rsplit(".", 2)
    attrs = "classname=%s name=%s" % (quoteattr(mod + "." + cls), quoteattr(name))
    if err is None:
        rows.append("<testcase %s/>" % attrs)
        continue
    failed += 1
    frames = [f for f in traceback.extract_tb(err[2]) if f.filename.startswith(os.getcwd() + os.sep)]
    where = "%s:%d: %s" % (os.path.relpath(frames[-1].filename), frames[-1].lineno, err[0].__name__)
    body = "".join(traceback.format_exception(*err)) + "\n" + where
    message = "%s: %s" % (err[0].__name__, err[1])
    rows.append("<testcase %s><failure message=%s>%s</failure></testcase>" % (attrs, quoteattr(message), escape(body)))
with open(out, "w") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">%s</testsuite></testsuites>' % "".join(rows))
sys.exit(1 if failed else 0)
`
