package version

import (
	"reflect"
	"strings"
	"testing"
)

func TestRelease(t *testing.T) {
	for in, want := range map[string][]int{"0.4": {0, 4}, "1.2.3": {1, 2, 3}, "10": {10}, "01.2": {1, 2}} {
		got, err := Release(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Release(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "v1.2", "1.2rc1", "1.2.post1", "1.2.dev0", "1.2+local", "1!1.2", "-1", "1..2", "x"} {
		if got, err := Release(in); err == nil || !strings.Contains(err.Error(), "not numeric") {
			t.Errorf("Release(%q) = %v, %v; want a refusal", in, got, err)
		}
	}
}

func TestSatisfies(t *testing.T) {
	for _, c := range []struct {
		v, spec string
		want    bool
	}{
		{"0.4.1", ">=0.4", true},
		{"0.3.9", ">=0.4", false},
		{"1.4.9", "~=1.4.2", true},
		{"1.5.0", "~=1.4.2", false},
		{"2.0.0rc1", "<2", false}, // PEP 440: <2 leaves out 2's pre-releases
		{"1.9.0", "<2", true},
		{"1.2.7", "==1.2.*", true},
		{"1.3.0", "!=1.3.*", false},
		{"1.2.3+local", "==1.2.3", true},
	} {
		got, err := Satisfies(c.v, c.spec)
		if err != nil || got != c.want {
			t.Errorf("Satisfies(%q, %q) = %v, %v; want %v", c.v, c.spec, got, err, c.want)
		}
	}
	if _, err := Satisfies("1.0", ">=x"); err == nil {
		t.Error("a bad specifier accepted")
	}
	if _, err := Satisfies("newest", ">=1"); err == nil {
		t.Error("a bad version accepted")
	}
}
