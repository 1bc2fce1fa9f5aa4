package workspace

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReleaseFixedGroups(t *testing.T) {
	text := base + "\n[workspace.release]\nfixed = [[\"a\", \"b\"]]\n" + sib("a", "foundation") + sib("b", "framework", "a") + sib("c", "tools")
	cfg, warnings, err := Parse("wrknv.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if want := [][]string{{"a", "b"}}; !reflect.DeepEqual(cfg.Workspace.Release.Fixed, want) {
		t.Errorf("Fixed = %v, want %v", cfg.Workspace.Release.Fixed, want)
	}
}

func TestReleaseFixedGroupsRefused(t *testing.T) {
	for name, tc := range map[string]struct{ fixed, want string }{
		"unknown": {`[["a", "zz"]]`, `unknown sibling "zz"`},
		"twice":   {`[["a", "b"], ["b", "c"]]`, "b is in two fixed groups"},
	} {
		t.Run(name, func(t *testing.T) {
			text := base + "\n[workspace.release]\nfixed = " + tc.fixed + "\n" + sib("a", "foundation") + sib("b", "framework") + sib("c", "tools")
			_, _, err := Parse("wrknv.toml", []byte(text))
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "workspace.release.fixed") {
				t.Fatalf("err = %v, want a validation error with %q", err, tc.want)
			}
			if ve.Problems[0].Line != 7 {
				t.Errorf("line = %d, want 7 (the fixed key)", ve.Problems[0].Line)
			}
		})
	}
}
