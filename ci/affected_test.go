package ci

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestOnlyAffectedSiblingsAreTested: a run of a changeset runs the tests
// of its members and of the siblings that depend on them, by depends_on
// or by a pyproject.toml dependency that depends_on does not list; the
// workspace tests always run; the rest are reported as not affected.
func TestOnlyAffectedSiblingsAreTested(t *testing.T) {
	f := newFixture(t)
	f.repo("base", map[string]string{"pyproject.toml": "[project]\nname = \"acme-base\"\n"})
	f.repo("mid", map[string]string{"pyproject.toml": "[project]\nname = \"mid\"\n"})
	// leaf's package needs acme-base; wrknv.toml says only mid.
	f.repo("leaf", map[string]string{"pyproject.toml": "[project]\nname = \"leaf\"\ndependencies = [\"acme_base>=1\"]\n"})
	f.repo("other", map[string]string{"pyproject.toml": "[project]\nname = \"other\"\n"})
	cfg := f.config(sib{name: "base"}, sib{name: "mid"}, sib{name: "leaf", deps: []string{"mid"}}, sib{name: "other"})
	for i := range cfg.Siblings {
		cfg.Siblings[i].OwnSetup = true
		cfg.Siblings[i].Test = []string{"echo tested " + cfg.Siblings[i].Name}
	}
	cfg.Workspace.CI.Test = []string{"echo workspace tested"}
	run := func(members []string) (*Result, string) {
		t.Helper()
		var out bytes.Buffer
		res, err := f.runner().Run(context.Background(), Request{Config: cfg, Members: members, Trusted: true, Output: &out})
		if err != nil || res.Result != Success {
			t.Fatalf("%v %+v\n%s", err, res, out.String())
		}
		return res, out.String()
	}

	res, log := run([]string{"base"})
	for _, want := range []string{"tested base", "tested leaf", "workspace tested"} {
		if !strings.Contains(log, want) {
			t.Errorf("a change to base did not run %q:\n%s", want, log)
		}
	}
	for _, not := range []string{"tested mid", "tested other"} {
		if strings.Contains(log, not) {
			t.Errorf("a change to base ran %q:\n%s", not, log)
		}
	}
	if got := strings.Join(res.NotAffected(), ","); got != "mid,other" {
		t.Errorf("not affected: %q", got)
	}
	if st := stepsOf(res, "test", "mid")[0]; st.Result != Skipped || st.Shown() != "not affected" {
		t.Errorf("mid's test: %+v", st)
	}
	if res.Affected["leaf"] != "depends on base" {
		t.Errorf("why leaf: %+v", res.Affected)
	}
	var report bytes.Buffer
	WriteReport(&report, "ws", res)
	if !strings.Contains(report.String(), "not run: the tests of mid, other (not affected: depends on no member)") {
		t.Errorf("the report does not say which tests did not run:\n%s", report.String())
	}

	// A change to the workspace repository, or affected = false:
	// everything (no members at all is every other test here).
	for _, c := range []struct {
		name    string
		members []string
		all     bool
	}{{"workspace", []string{"ws"}, false}, {"affected = false", []string{"other"}, true}} {
		cfg.Workspace.CI.TestAll = c.all
		res, log := run(c.members)
		for _, s := range cfg.Siblings {
			if !strings.Contains(log, "tested "+s.Name) {
				t.Errorf("%s: %s's tests did not run", c.name, s.Name)
			}
		}
		if len(res.NotAffected()) > 0 {
			t.Errorf("%s: %v not affected", c.name, res.NotAffected())
		}
	}
}
