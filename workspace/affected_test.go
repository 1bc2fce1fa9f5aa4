package workspace

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// graphConfig is a workspace of three layers: foundation <- framework <-
// two tools, and a docs sibling that depends on nothing.
const graphConfig = `
[workspace]
name = "ws"

[workspace.ci]
test = ["true"]

[[siblings]]
name = "provide-foundation"

[[siblings]]
name = "pyvider"
depends_on = ["provide-foundation"]

[[siblings]]
name = "flavor"
depends_on = ["pyvider"]

[[siblings]]
name = "plating"
depends_on = ["provide-foundation"]

[[siblings]]
name = "docs"
`

func graphWorkspace(t *testing.T, pyprojects map[string]string) (*Config, map[string]string) {
	t.Helper()
	root := t.TempDir()
	file := filepath.Join(root, "ws", DefaultFileName)
	os.MkdirAll(filepath.Dir(file), 0o755)
	if err := os.WriteFile(file, []byte(graphConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	dirs := cfg.SiblingDirs()
	for name, text := range pyprojects {
		os.MkdirAll(dirs[name], 0o755)
		if err := os.WriteFile(filepath.Join(dirs[name], "pyproject.toml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, dirs
}

func TestAffected(t *testing.T) {
	cfg, dirs := graphWorkspace(t, map[string]string{
		// docs uses flavor's package though depends_on does not say so.
		"docs":   "[project]\nname = \"provide-docs\"\ndependencies = [\n  \"requests>=2\",\n  \"Flavor_Pack[extra] >= 0.1 ; python_version >= '3.11'\",\n]\n",
		"flavor": "[project]\nname = \"flavor.pack\"\n",
	})
	uses := cfg.PackageUses(dirs)
	for _, c := range []struct {
		members []string
		want    map[string]string
	}{
		{[]string{"plating"}, map[string]string{"plating": "changed in this changeset"}},
		{[]string{"flavor"}, map[string]string{"flavor": "changed in this changeset", "docs": "depends on flavor"}},
		{[]string{"provide-foundation"}, map[string]string{
			"provide-foundation": "changed in this changeset",
			"pyvider":            "depends on provide-foundation",
			"plating":            "depends on provide-foundation",
			"flavor":             "depends on provide-foundation through pyvider",
			"docs":               "depends on provide-foundation through flavor, pyvider",
		}},
		{[]string{"docs", "plating"}, map[string]string{"docs": "changed in this changeset", "plating": "changed in this changeset"}},
		{[]string{"ws"}, map[string]string{"provide-foundation": "the workspace repository changed", "pyvider": "the workspace repository changed",
			"flavor": "the workspace repository changed", "plating": "the workspace repository changed", "docs": "the workspace repository changed"}},
		{[]string{}, map[string]string{}},
	} {
		if got := cfg.Affected(c.members, uses); !reflect.DeepEqual(got, c.want) {
			t.Errorf("members %v:\n got %v\nwant %v", c.members, got, c.want)
		}
	}
}

// TestAffectedUnreadablePackage: a pyproject.toml that cannot be read
// (here a symlink, which is never followed) may hide a dependency, so its
// sibling and everything that depends on it count as affected.
func TestAffectedUnreadablePackage(t *testing.T) {
	cfg, dirs := graphWorkspace(t, nil)
	os.MkdirAll(dirs["pyvider"], 0o755)
	if err := os.Symlink("/etc/hostname", filepath.Join(dirs["pyvider"], "pyproject.toml")); err != nil {
		t.Fatal(err)
	}
	uses := cfg.PackageUses(dirs)
	if _, ok := uses.Unread["pyvider"]; !ok {
		t.Fatalf("a symlinked pyproject.toml was read: %+v", uses)
	}
	got := cfg.Affected([]string{"docs"}, uses)
	want := map[string]string{"docs": "changed in this changeset",
		"pyvider": "may depend on a member: its pyproject.toml could not be read", "flavor": "depends on pyvider"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// TestReadPackageHostileFiles: the service reads a checkout's
// pyproject.toml with its own rights, so a PR's symlink to a file only
// root may read, a FIFO that would block, and a huge file are refused,
// and no error quotes what the file holds.
func TestReadPackageHostileFiles(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("[project]\nname = \"hunter2-secret\"\n"), 0o600)
	for _, c := range []struct {
		name string
		make func(file string) error
		want string
	}{
		{"symlink", func(f string) error { return os.Symlink(secret, f) }, "is a symlink"},
		{"fifo", func(f string) error { return syscall.Mkfifo(f, 0o644) }, "not a regular file"},
		{"directory", func(f string) error { return os.Mkdir(f, 0o755) }, "not a regular file"},
		{"huge", func(f string) error {
			return os.WriteFile(f, []byte("[project]\nname = \"x\"\n#"+strings.Repeat("a", maxPyproject)+"\n"), 0o644)
		}, "larger than"},
		{"bad toml", func(f string) error {
			return os.WriteFile(f, []byte("[project]\nname = \"hunter2-secret\n"), 0o644)
		}, "not a valid pyproject.toml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.make(filepath.Join(dir, "pyproject.toml")); err != nil {
				t.Fatal(err)
			}
			pkg, err := ReadPackage(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fix:") {
				t.Fatalf("got %+v, %v; want an error saying %q and the fix", pkg, err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the file: %v", err)
			}
		})
	}
	if pkg, err := ReadPackage(t.TempDir()); pkg != nil || err != nil {
		t.Errorf("no pyproject.toml: %+v, %v", pkg, err)
	}
}

func TestReadPackage(t *testing.T) {
	dir := t.TempDir()
	text := `[project]
name = "Pyvider_Components"
dependencies = [
    "provide-foundation>=0.4",  # the base
    'pyvider.cty',
]

[project.optional-dependencies]
dev = ["pytest>=8"]
all = [
  "flavor[all] @ https://example.com/flavor.tar.gz",
]
`
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(text), 0o644)
	pkg, err := ReadPackage(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Package{File: filepath.Join(dir, "pyproject.toml"), Name: "pyvider-components", Needs: []Need{
		{"provide-foundation", 4}, {"pyvider-cty", 5}, {"pytest", 9}, {"flavor", 11}}}
	if !reflect.DeepEqual(pkg, want) {
		t.Errorf("got %+v\nwant %+v", pkg, want)
	}
}

// TestGraphWarnings: validate names both directions of disagreement
// between depends_on and the packages, each at its file and line.
func TestGraphWarnings(t *testing.T) {
	cfg, dirs := graphWorkspace(t, map[string]string{
		"provide-foundation": "[project]\nname = \"provide-foundation\"\n",
		"pyvider":            "[project]\nname = \"pyvider\"\ndependencies = []\n",
		"flavor":             "[project]\nname = \"flavor\"\n",
		"docs":               "[project]\nname = \"docs\"\ndependencies = [\n  \"flavor\",\n]\n",
	})
	var got []string
	for _, w := range cfg.GraphWarnings(dirs) {
		got = append(got, strings.TrimPrefix(w.Error(), filepath.Dir(filepath.Dir(cfg.File))+"/"))
	}
	want := []string{
		"ws/wrknv.toml:13: siblings[pyvider].depends_on: lists provide-foundation, but " + dirs["pyvider"] + "/pyproject.toml does not depend on its package provide-foundation" +
			" (fix: remove provide-foundation from depends_on, or add provide-foundation to [project].dependencies in " + dirs["pyvider"] + "/pyproject.toml)",
		"docs/pyproject.toml:4: docs depends on sibling flavor, which siblings[docs].depends_on in " + cfg.File + " does not list" +
			" (fix: add \"flavor\" to depends_on of sibling docs, so that it is built first and a change to flavor tests docs)",
	}
	// flavor's pyproject.toml does not use pyvider: a warning too.
	want = append(want[:1], append([]string{"ws/wrknv.toml:17: siblings[flavor].depends_on: lists pyvider, but " + dirs["flavor"] + "/pyproject.toml does not depend on its package pyvider" +
		" (fix: remove pyvider from depends_on, or add pyvider to [project].dependencies in " + dirs["flavor"] + "/pyproject.toml)"}, want[1:]...)...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRetryFlakyKey(t *testing.T) {
	for _, c := range []struct {
		value string
		want  int
		err   string
	}{{"2", 2, ""}, {"0", 0, ""}, {"4", 0, "want a whole number from 0 to 3"}, {`"1"`, 0, "want a whole number from 0 to 3"}, {"-1", 0, "want a whole number"}} {
		cfg, _, err := Parse("wrknv.toml", []byte("[workspace]\nname = \"ws\"\n[workspace.ci]\ntest = [\"true\"]\nretry_flaky = "+c.value+"\n[[siblings]]\nname = \"a\"\n"))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "wrknv.toml:5: workspace.ci.retry_flaky")):
			t.Errorf("retry_flaky = %s: %v, want an error saying %q at its line", c.value, err, c.err)
		case c.err == "" && (err != nil || cfg.Workspace.CI.RetryFlaky != c.want):
			t.Errorf("retry_flaky = %s: %v", c.value, err)
		}
	}
}
