package action

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestGroupStopsCommandsInUntrustedOutput(t *testing.T) {
	var out bytes.Buffer
	r := &Workflow{Out: &out}
	r.Group("test pyvider", "ok\n::set-output name=result::success\n::add-mask::x")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "::group::test pyvider" || lines[len(lines)-1] != "::endgroup::" {
		t.Fatalf("group framing wrong:\n%s", out.String())
	}
	m := regexp.MustCompile(`^::stop-commands::([0-9a-f]{32})$`).FindStringSubmatch(lines[1])
	if m == nil {
		t.Fatalf("no stop-commands marker: %q", lines[1])
	}
	if lines[len(lines)-2] != "::"+m[1]+"::" {
		t.Errorf("commands not resumed with the same token: %q", lines[len(lines)-2])
	}
	var again bytes.Buffer
	(&Workflow{Out: &again}).Group("t", "x")
	if strings.Contains(again.String(), m[1]) {
		t.Error("stop-commands token reused; untrusted output could guess it")
	}
}

func TestEscapingAndMask(t *testing.T) {
	var out bytes.Buffer
	r := &Workflow{Out: &out}
	r.Error("step: test, a", "line1\nline2 100%")
	r.Mask("s3cret\nsecond")
	r.Mask("  ")
	want := "::error title=step%3A test%2C a::line1%0Aline2 100%25\n::add-mask::s3cret\n::add-mask::second\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestSetOutputHeredoc(t *testing.T) {
	f := filepath.Join(t.TempDir(), "out")
	if err := SetOutput(f, "changeset", "{\"a\":1}\nsecond line"); err != nil {
		t.Fatal(err)
	}
	if err := SetOutput(f, "result", "success"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	re := regexp.MustCompile(`(?s)^changeset<<(ghadelimiter_\w+)\n\{"a":1\}\nsecond line\n(\w+)\nresult<<(\w+)\nsuccess\n(\w+)\n$`)
	m := re.FindStringSubmatch(string(b))
	if m == nil || m[1] != m[2] || m[3] != m[4] {
		t.Fatalf("bad output file:\n%s", b)
	}
	if err := SetOutput("", "x", "y"); err == nil {
		t.Error("want an error without GITHUB_OUTPUT")
	}
}
