package workspace

import (
	"strings"
	"testing"
)

func TestBadConstraintsAreLocated(t *testing.T) {
	text := base + "\n[workspace.python]\nversion = \">=3.x\"\n\n[workspace.tools]\nuv = \">=0.1.0\"\nruff = \"newest\"\n" + sib("a", "foundation")
	_, _, err := Parse("w.toml", []byte(text))
	if err == nil {
		t.Fatal("bad constraints accepted")
	}
	for _, want := range []string{
		`w.toml:7: workspace.python.version: ">=3.x" is not a version constraint`,
		`w.toml:11: workspace.tools.ruff: "newest" is not a version constraint`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
