package workspace

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const base = `
[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"
`

func sib(name, layer string, deps ...string) string {
	q := make([]string, len(deps))
	for i, d := range deps {
		q[i] = `"` + d + `"`
	}
	return "\n[[siblings]]\nname = \"" + name + "\"\nrepo = \"https://github.com/acme/" + name + ".git\"\nlayer = \"" + layer +
		"\"\ndepends_on = [" + strings.Join(q, ", ") + "]\n"
}

func names(ss []*Sibling) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func TestRootConfigOrderAndPlatingWarning(t *testing.T) {
	cfg, warnings, err := Load(filepath.Join("..", "wrknv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Siblings) != 13 {
		t.Fatalf("siblings = %d, want 13", len(cfg.Siblings))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "plating") || warnings[0].Line == 0 {
		t.Fatalf("want one located warning about plating, got %v", warnings)
	}
	order, err := cfg.Order()
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range order {
		pos[s.Name] = i
	}
	for _, s := range cfg.Siblings {
		for _, d := range s.DependsOn {
			if pos[d] >= pos[s.Name] {
				t.Errorf("%s built before its dependency %s", s.Name, d)
			}
		}
	}
	if order[0].Name != "provide-foundation" {
		t.Errorf("first = %s", order[0].Name)
	}
	if got := cfg.FullName(cfg.Sibling("pyvider")); got != "provide-io/pyvider" {
		t.Errorf("FullName = %q", got)
	}
	if cfg.Workspace.CI.Timeout != 30*time.Minute || cfg.Workspace.CI.Checkout != CheckoutMerge {
		t.Errorf("ci = %+v", cfg.Workspace.CI)
	}
}

func TestOrderTiesByLayerThenName(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte(base+sib("zeta", "foundation")+sib("tool", "tools")+sib("alpha", "framework")+sib("beta", "foundation")))
	if err != nil {
		t.Fatal(err)
	}
	order, _ := cfg.Order()
	if got, want := names(order), []string{"beta", "zeta", "alpha", "tool"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	stages, _ := cfg.Stages()
	if len(stages) != 1 {
		t.Errorf("independent siblings should share one stage, got %d", len(stages))
	}
}

func TestDefaults(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte("[workspace]\nname = \"ws\"\n[[siblings]]\nname = \"a\"\nlayer = \"foundation\"\nrepo = \"git@github.com:acme/a.git\"\n[[siblings]]\nname = \"b\"\nlayer = \"tools\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Sibling("b")
	if b.Branch != "main" || b.Path != "../b" {
		t.Errorf("defaults: %+v", b)
	}
	if got := cfg.RepoURL(b); got != "https://github.com/acme/b.git" {
		t.Errorf("missing repo should default from the owner, got %q", got)
	}
	if cfg.Workspace.Bot.Command != "/workspace" || cfg.Workspace.Bot.Context != "workspace/integration" || !cfg.Workspace.Bot.LinkByBranch {
		t.Errorf("bot defaults: %+v", cfg.Workspace.Bot)
	}
	if cfg.SiblingByRepo("ACME/A") == nil {
		t.Error("SiblingByRepo should ignore case")
	}
}

func TestFullName(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/provide-io/pyvider.git":   "provide-io/pyvider",
		"https://github.com/provide-io/pyvider":       "provide-io/pyvider",
		"git@github.com:provide-io/pyvider.git":       "provide-io/pyvider",
		"ssh://git@github.com/provide-io/pyvider.git": "provide-io/pyvider",
		"file:///srv/git/acme/a.git":                  "acme/a",
		"/srv/git/acme/a.git":                         "acme/a",
		"http://127.0.0.1:8080/git/acme/a.git":        "acme/a",
		"a":                                           "",
	} {
		if got := FullName(in); got != want {
			t.Errorf("FullName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"syntax", "[workspace\nname = 1", []string{"w.toml:2", "not valid TOML"}},
		{"cycle", base + sib("a", "foundation", "c") + sib("b", "foundation", "a") + sib("c", "foundation", "b"),
			[]string{"dependency cycle: a -> c -> b -> a", "remove one"}},
		{"unknown dependency", base + sib("a", "foundation") + sib("b", "tools", "aa"),
			[]string{"w.toml:16", "siblings[b].depends_on", `unknown sibling "aa"`, "did you mean a?"}},
		{"self dependency", base + sib("a", "foundation", "a"), []string{"cannot depend on itself"}},
		{"duplicate name", base + sib("a", "foundation") + sib("a", "tools"), []string{"duplicate sibling name"}},
		{"escaping path", base + sib("a", "foundation") + "path = \"../../etc\"\n", []string{"siblings[a].path", "outside the build root"}},
		{"absolute path", base + sib("a", "foundation") + "path = \"/etc\"\n", []string{"is absolute"}},
		{"duplicate path", base + sib("a", "foundation") + "path = \"../x\"\n" + sib("b", "foundation") + "path = \"../x/\"\n", []string{"duplicate path"}},
		{"unknown layer", base + sib("a", "middle"), []string{`unknown layer "middle"`, "foundation, framework, tools"}},
		{"option-like branch", base + sib("a", "foundation") + "branch = \"--upload-pack=x\"\n", []string{"looks like a command-line option"}},
		{"bad timeout", base + "[workspace.ci]\ntimeout = \"soon\"\n" + sib("a", "foundation"), []string{"workspace.ci.timeout", "positive duration"}},
		{"bad checkout", base + "[workspace.ci]\ncheckout = \"rebase\"\n" + sib("a", "foundation"), []string{`"rebase" is not a checkout mode`}},
		{"no siblings", base, []string{"no [[siblings]]"}},
		{"no name", "[[siblings]]\nname = \"a\"\nlayer = \"tools\"\nrepo = \"https://github.com/acme/a\"\n", []string{"workspace.name", "missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("w.toml", []byte(c.text))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "w.toml") {
				t.Errorf("error does not name the file: %q", err)
			}
		})
	}
}

func TestUnknownKeyIsAWarning(t *testing.T) {
	_, warnings, err := Parse("w.toml", []byte(base+sib("a", "foundation")+"colour = \"blue\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "colour") || warnings[0].Line != 11 {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "wrknv.toml"))
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing file error should say how to point at one: %v", err)
	}
}
