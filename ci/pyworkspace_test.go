package ci

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/scripttest"
	"github.com/provide-io/workspace-bot/workspace"
)

// A Python workspace made in the test, the shape of provide.io's: four
// packages in three layers that import each other, each with its own
// unittest suite, and a workspace repository holding wrknv.toml and an
// integration test.
//
// The packages build with a PEP 517/660 backend of their own, in the
// package (backend-path), needing nothing installed: pip builds editable
// installs offline with it. setuptools cannot stand in here: the
// setuptools a venv ships (65 in Python 3.11, none from 3.12) builds
// editable wheels only with the "wheel" package, which no venv has and
// which would have to come from an index.

// pyPackage is one generated package.
type pyPackage struct {
	name  string   // distribution and sibling name
	layer string   // foundation, framework, tools
	deps  []string // other packages it imports and declares
}

// module is the package's import name.
func module(name string) string { return strings.ReplaceAll(name, "-", "_") }

// pyPackages: pyframework and pyplugin build in one stage, side by side.
var pyPackages = []pyPackage{
	{name: "pyfoundation", layer: "foundation"},
	{name: "pyframework", layer: "framework", deps: []string{"pyfoundation"}},
	{name: "pyplugin", layer: "framework", deps: []string{"pyfoundation"}},
	{name: "pytools", layer: "tools", deps: []string{"pyframework", "pyplugin"}},
}

// backendPy is the build backend, generated per package with its
// metadata filled in: an editable install is a .pth file naming src.
const backendPy = `"""An editable-only PEP 517/660 build backend with no dependencies."""
import base64, hashlib, os, zipfile

NAME, VERSION, DEPS = %q, %q, %s


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%%s,sha256=%%s,%%d" %% (path, digest, len(data))


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    dist = NAME.replace("-", "_") + "-" + VERSION
    meta = "Metadata-Version: 2.1\nName: %%s\nVersion: %%s\n" %% (NAME, VERSION)
    meta += "".join("Requires-Dist: %%s\n" %% d for d in DEPS)
    files = {
        NAME.replace("-", "_") + ".pth": os.path.abspath("src") + "\n",
        dist + ".dist-info/METADATA": meta,
        dist + ".dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: pybackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    wheel = dist + "-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for path, text in files.items():
            z.writestr(path, text.encode())
            records.append(_record(path, text.encode()))
        records.append(dist + ".dist-info/RECORD,,")
        z.writestr(dist + ".dist-info/RECORD", "\n".join(records) + "\n")
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("this backend builds editable installs only")


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("this backend builds editable installs only")
`

// pyFiles are the files of one package at version v, whose greeting is
// word: what the workspace test checks went through every layer.
func pyFiles(p pyPackage, version, word string) map[string]string {
	deps := make([]string, len(p.deps))
	for i, d := range p.deps {
		deps[i] = fmt.Sprintf("%q", d)
	}
	depList := "[" + strings.Join(deps, ", ") + "]"
	var imports, parts strings.Builder
	for _, d := range p.deps {
		fmt.Fprintf(&imports, "import %s\n", module(d))
		fmt.Fprintf(&parts, " + \"(\" + %s.chain() + \")\"", module(d))
	}
	mod := module(p.name)
	files := map[string]string{
		"pyproject.toml": fmt.Sprintf(`[build-system]
requires = []
build-backend = "pybackend"
backend-path = ["_build"]

[project]
name = %q
version = %q
dependencies = %s
`, p.name, version, depList),
		"_build/pybackend.py": fmt.Sprintf(backendPy, p.name, version, depList),
		"src/" + mod + "/__init__.py": fmt.Sprintf("%s\nWORD = %q\n\n\ndef chain():\n    return %q + \":\" + WORD%s\n",
			imports.String(), word, p.name, parts.String()),
		"tests/__init__.py": "",
		"tests/test_" + mod + ".py": fmt.Sprintf(`import os
import unittest

import %[1]s


class Test(unittest.TestCase):
    def test_chain(self):
        self.assertTrue(%[1]s.chain().startswith(%[2]q + ":"))

    def test_against_the_workspace(self):
        # A sibling's own tests run in the shared venv, with every
        # sibling it imports installed there.
        import sys
        self.assertTrue(sys.prefix.startswith(os.environ["VIRTUAL_ENV"]), sys.prefix)
`, mod, p.name),
		// Kept out of a sparse checkout of src and tests.
		"docs/site/index.html": "<html>" + strings.Repeat("built docs ", 200) + "</html>\n",
	}
	return files
}

// pyWorkspace serves the four packages and writes the workspace: wrknv.toml
// in the documented format (tasks, env, hooks, python) with the given
// extra TOML appended, and the integration test.
type pyWorkspace struct {
	*fixture
}

func newPyWorkspace(t *testing.T) *pyWorkspace {
	t.Helper()
	f := newFixture(t)
	for _, p := range pyPackages {
		f.repo(p.name, pyFiles(p, "0.1.0", "one"))
	}
	w := &pyWorkspace{fixture: f}
	files := map[string]string{
		"tests/__init__.py": "",
		"tests/test_integration.py": `import os
import unittest

import pytools


class Integration(unittest.TestCase):
    def test_every_layer(self):
        chain = pytools.chain()
        for name in ("pytools", "pyframework", "pyplugin", "pyfoundation"):
            self.assertIn(name + ":", chain)
        with open(os.path.join(os.environ["WORKSPACE_ROOT"], "chain.txt"), "w") as f:
            f.write(chain + "\n")

    def test_env(self):
        self.assertEqual(os.environ.get("WS_GREETING"), "hello from [workspace.env]")
`,
		"scripts/pre_install.sh":  "#!/bin/sh\necho \"pre $(ls \"$WORKSPACE_ROOT/.venv/lib\" 2>/dev/null | head -1) $(ls \"$VIRTUAL_ENV\"/lib/python*/site-packages 2>/dev/null | grep -c '^py.*pth$')\" >> \"$WORKSPACE_ROOT/hooks.log\"\n",
		"scripts/post_install.sh": "#!/bin/sh\necho \"post $(ls \"$VIRTUAL_ENV\"/lib/python*/site-packages | grep -c '^py.*pth$')\" >> \"$WORKSPACE_ROOT/hooks.log\"\n",
	}
	for p, c := range files {
		path := filepath.Join(f.wsDir, p)
		os.MkdirAll(filepath.Dir(path), 0o755)
		scripttest.Write(t, path, c)
	}
	return w
}

// config writes wrknv.toml: the documented keys, every sibling with its
// own tests, and extra appended (more [[siblings]] keys go in perSibling).
func (w *pyWorkspace) config(t *testing.T, extra string, perSibling map[string]string) *workspace.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `[workspace]
name = "pyws"
description = "a generated Python workspace"
version = "0.1.0"

[workspace.python]
version = ">=3.8"
venv_path = ".venv"

[workspace.tasks]
test = "python -m unittest discover -s tests -t . -v"
lint = "python -m compileall -q \"$WORKSPACE_ROOT/../pytools/src\" && echo lint-ran > \"$WORKSPACE_ROOT/lint.txt\""

[workspace.env]
WS_GREETING = "hello from [workspace.env]"
# Offline: pip must never ask an index (a sibling installed out of
# order would send it there).
PIP_NO_INDEX = "1"
UV_OFFLINE = "1"
PIP_DISABLE_PIP_VERSION_CHECK = "1"

[workspace.hooks]
pre_install = "sh scripts/pre_install.sh"
post_install = "sh scripts/post_install.sh"

[workspace.ci]
timeout = "5m"
%s
`, extra)
	names := make([]string, 0, len(pyPackages))
	for _, p := range pyPackages {
		names = append(names, p.name)
	}
	sort.Strings(names)
	for _, p := range pyPackages {
		deps := make([]string, len(p.deps))
		for i, d := range p.deps {
			deps[i] = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(&b, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = %q\nlayer = %q\ndepends_on = [%s]\ntest = [\"python -m unittest discover -s tests -t .\"]\n%s",
			p.name, p.name, w.url(p.name), p.layer, strings.Join(deps, ", "), perSibling[p.name])
	}
	file := filepath.Join(w.wsDir, "wrknv.toml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := workspace.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
