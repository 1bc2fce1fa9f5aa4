package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// fuzzSeeds are the configs of the repository and of the docs, and the
// broken ones the tests refuse.
func fuzzSeeds(t testing.TB) []string {
	var seeds []string
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.toml"))
	files = append(files, filepath.Join("..", "wrknv.toml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(data))
	}
	return append(seeds,
		planConfig,
		base+sib("a", "foundation")+sib("b", "tools")+"depend_on = [\"a\"]\n",
		base+strings.Replace(sib("a", "foundation"), "[[siblings]]", "[[sibling]]", 1),
		base+sib("a", "foundation")+"\n[[siblings]]\nname = \"b\"\ndepends_on = \"a\"\n",
		base+sib("a", "foundation", "c")+sib("b", "foundation", "a")+sib("c", "foundation", "b"),
		base+"[workspace.ci]\ncache = { paths = [\"/tmp\"], key = [\"[\"] }\nmax_log = \"lots\"\nenv = { \"A-B\" = 1 }\n"+sib("a", "foundation"),
		base+"[workspace.python]\nversion = \">=3.x\"\nvenv_path = \"v\\\"\"\n[workspace.tools]\nruff = \"newest\"\n"+sib("a", "foundation"),
		"a = \"\"\"\n[siblings]\nname = 1\n\"\"\"\n[workspace]\nname = 'x'\n[[siblings]]\n'name' = \"a\" # c\n\"depends_on\" = [ # c\n]\n",
		"[workspace]\nname=\"w\"\n[[siblings]]\nname=\"a\"\n[siblings.x]\ny=1\n[[siblings.z]]\n",
		"[[workspace]]\n",
		"",
	)
}

// FuzzParse: Parse never panics; every error is a ValidationError whose
// problems name the file; the same text validates the same way twice; and
// a config that parses, written back as TOML, parses to the same config.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, warnings, err := Parse("f.toml", []byte(text))
		checkProblems(t, err, warnings, strings.Count(text, "\n")+1)
		if _, tomlErr := toml.Decode(text, new(map[string]any)); tomlErr == nil {
			// The line finder follows all valid TOML without a recover.
			scanLines(text)
		}
		cfg2, warnings2, err2 := Parse("f.toml", []byte(text))
		if !reflect.DeepEqual(warnings, warnings2) || errText(err) != errText(err2) || !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("two parses differ:\n%v\n%v", err, err2)
		}
		if err != nil {
			return
		}
		again := encode(t, cfg)
		cfg3, _, err := Parse("f.toml", again)
		if err != nil {
			t.Fatalf("the config written back is refused: %v\n%s", err, again)
		}
		cfg3.Wrknv = cfg.Wrknv
		// Where a name is written differs in the text written back.
		for i := range cfg3.Siblings {
			cfg3.Siblings[i].dependsOnLines = cfg.Siblings[i].dependsOnLines
		}
		// Compared as printed: an absent list and an empty one mean the same.
		if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", cfg3) {
			t.Fatalf("the config written back reads differently:\n%+v\n%+v\n%s", cfg, cfg3, again)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func checkProblems(t *testing.T, err error, warnings []Warning, lines int) {
	t.Helper()
	for _, w := range warnings {
		if w.File != "f.toml" || !strings.HasPrefix(w.Error(), "f.toml") || w.Line > lines {
			t.Fatalf("warning does not name the file or a line in it: %q", w.Error())
		}
	}
	if err == nil {
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		t.Fatalf("not a ValidationError with problems: %v", err)
	}
	for _, p := range ve.Problems {
		if p.File != "f.toml" || !strings.HasPrefix(p.Error(), "f.toml") || p.Message == "" || p.Line > lines {
			t.Fatalf("problem does not name the file or say what is wrong: %q", p.Error())
		}
	}
}

// encode writes a Config back as wrknv.toml, every value explicit.
func encode(t *testing.T, cfg *Config) []byte {
	t.Helper()
	ws := cfg.Workspace
	tools := map[string]any{}
	for _, tl := range ws.Tools {
		tools[tl.Name] = tl.Version.String()
	}
	tasks := map[string]any{}
	for k, v := range ws.Tasks {
		tasks[k] = v
	}
	w := map[string]any{
		"name": ws.Name, "description": ws.Description, "version": ws.Version, "repo": ws.Repo, "branch": ws.Branch,
		"layers": ws.Layers,
		"python": map[string]any{"version": ws.Python.Version.String(), "venv_path": ws.Python.VenvPath},
		"tools":  tools, "tasks": tasks, "env": ws.Env,
		"hooks": map[string]any{"pre_install": nonNil(ws.Hooks.PreInstall), "post_install": nonNil(ws.Hooks.PostInstall)},
		"ci": map[string]any{"setup": nonNil(ws.CI.Setup), "test": nonNil(ws.CI.Test), "timeout": ws.CI.Timeout.String(),
			"checkout": ws.CI.Checkout, "env": ws.CI.Env, "max_log": ws.CI.MaxLog,
			"cache": map[string]any{"paths": nonNil(ws.CI.Cache.Paths), "key": nonNil(ws.CI.Cache.Key)}},
		"bot": map[string]any{"command": ws.Bot.Command, "context": ws.Bot.Context, "trusted": ws.Bot.Trusted,
			"link_by_branch": ws.Bot.LinkByBranch},
		"release": map[string]any{"fixed": nonNilGroups(ws.Release.Fixed)},
	}
	var sibs []map[string]any
	for _, s := range cfg.Siblings {
		m := map[string]any{"name": s.Name, "path": s.Path, "repo": s.Repo, "layer": s.Layer,
			"depends_on": nonNil(s.DependsOn), "branch": s.Branch, "test": nonNil(s.Test), "sparse": nonNil(s.Sparse)}
		if s.OwnSetup {
			m["setup"] = nonNil(s.Setup)
		}
		sibs = append(sibs, m)
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"workspace": w, "siblings": sibs}); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b.Bytes()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilGroups(g [][]string) [][]string {
	if g == nil {
		return [][]string{}
	}
	return g
}
