package junit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gojunit "github.com/joshdk/go-junit"
)

func TestParsePytestReport(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/pytest.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rep Report
	if err := Parse(f, DefaultLimits, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 2 || rep.Failed != 3 || rep.Skipped != 1 {
		t.Fatalf("counts: %d passed, %d failed, %d skipped; want 2, 3, 1", rep.Passed, rep.Failed, rep.Skipped)
	}
	want := []struct {
		id, file string
		line     int
		msg      string
		err      bool
	}{
		{"tests.test_core::test_divides", "tests/test_core.py", 9, "assert 2 == 3\n +  where 2 = divide(4, 2)", false},
		// The test's own frame, not the helper's that raised.
		{"tests.test_core.TestParse::test_bad[x-1]", "tests/test_core.py", 14, "ValueError: bad input", false},
		{"tests.test_core::test_fixture", "tests/test_core.py", 22, `failed on setup with "fixture 'db' not found"`, true},
	}
	if len(rep.Failures) != len(want) {
		t.Fatalf("%d failures kept, want %d: %+v", len(rep.Failures), len(want), rep.Failures)
	}
	for i, w := range want {
		c := rep.Failures[i]
		if c.ID != w.id || c.File != w.file || c.Line != w.line || c.Message != w.msg || c.Error != w.err {
			t.Errorf("failure %d = %+v\nwant %+v", i, c, w)
		}
	}
	if out := rep.Failures[1].Output; !strings.Contains(out, "src/core/parse.py:3: ValueError") || !strings.HasSuffix(out, "parsing x") {
		t.Errorf("output of test_bad lacks its traceback or what it printed:\n%s", out)
	}
}

func TestParseKeepsFailuresUpToTheLimitAndCountsTheRest(t *testing.T) {
	t.Parallel()
	lim := DefaultLimits
	lim.Failures, lim.Output, lim.Message = 3, 40, 10
	var b strings.Builder
	b.WriteString("<testsuite>")
	for i := range 10 {
		fmt.Fprintf(&b, `<testcase classname="c" name="t%d"><failure message="%s">%s</failure></testcase>`, i, strings.Repeat("m", 50), strings.Repeat("x", 100)+"END")
	}
	b.WriteString("</testsuite>")
	var rep Report
	if err := Parse(strings.NewReader(b.String()), lim, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 10 || len(rep.Failures) != 3 || rep.Omitted != 7 {
		t.Fatalf("failed %d, kept %d, omitted %d; want 10, 3, 7", rep.Failed, len(rep.Failures), rep.Omitted)
	}
	c := rep.Failures[0]
	if c.Message != "mmmmmmmmmm…" {
		t.Errorf("message not cut to 10 bytes: %q", c.Message)
	}
	if !strings.HasPrefix(c.Output, "[... 63 bytes cut ...]\n") || !strings.HasSuffix(c.Output, "END") {
		t.Errorf("output does not keep its end: %q", c.Output)
	}
}

// The reports directory is written by the code under test. Everything
// below is something that code can leave there.
func TestReadDirHostileFiles(t *testing.T) {
	t.Parallel()
	good := `<testsuite><testcase classname="c" name="ok"/><testcase classname="c" name="bad"><failure message="boom">x.py:1: E</failure></testcase></testsuite>`
	outside := filepath.Join(t.TempDir(), "secret.xml")
	writeFile(t, outside, `<testsuite><testcase classname="secret" name="LEAKED"><failure message="LEAKED"/></testcase></testsuite>`)

	build := t.TempDir()
	dir := filepath.Join(build, ".reports", "step-01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a-good.xml"), good)
	// Symlinks out of the build root: to a report elsewhere, to a device
	// that never ends.
	symlink(t, outside, filepath.Join(dir, "b-out.xml"))
	symlink(t, "/dev/zero", filepath.Join(dir, "c-zero.xml"))
	// A symlink that stays inside the build root is just another way to
	// name a file the step wrote.
	writeFile(t, filepath.Join(build, "in.xml"), good)
	symlink(t, "../../in.xml", filepath.Join(dir, "d-in.xml"))
	// A FIFO with no writer: opening it for reading would block forever.
	if err := syscall.Mkfifo(filepath.Join(dir, "e-fifo.xml"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file over the limit (sparse: no disk used).
	huge, err := os.Create(filepath.Join(dir, "f-huge.xml"))
	if err != nil {
		t.Fatal(err)
	}
	huge.Truncate(DefaultLimits.File + 1)
	huge.Close()
	// Billion laughs: entities that would expand to gigabytes.
	var lol strings.Builder
	lol.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&lol, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	lol.WriteString(`]><testsuite><testcase name="x"><failure message="&lol9;">&lol9;</failure></testcase></testsuite>`)
	writeFile(t, filepath.Join(dir, "g-laughs.xml"), strings.Replace(lol.String(), "&lol0;", "&lol;", -1))
	// Deeply nested: the parser copies every element's inner XML.
	writeFile(t, filepath.Join(dir, "h-deep.xml"), strings.Repeat("<testsuite>", 100000)+strings.Repeat("</testsuite>", 100000))
	// Dense: a node per element.
	writeFile(t, filepath.Join(dir, "i-dense.xml"), "<testsuite>"+strings.Repeat("<a/>", DefaultLimits.Elements+1)+"</testsuite>")
	// Not XML at all, and not a report.
	writeFile(t, filepath.Join(dir, "j-garbage.xml"), "\x00\x01 not xml <<<")
	writeFile(t, filepath.Join(dir, "notes.txt"), good)
	// A directory named like a report.
	if err := os.Mkdir(filepath.Join(dir, "k-dir.xml"), 0o755); err != nil {
		t.Fatal(err)
	}

	root, err := os.OpenRoot(build)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	done := make(chan *Report, 1)
	go func() {
		rep, err := ReadDir(root, ".reports/step-01", DefaultLimits)
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var rep *Report
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ReadDir blocked (on the FIFO?)")
	}
	// The good file and the symlink inside the root, nothing else.
	if rep.Passed != 2 || rep.Failed != 2 || len(rep.Failures) != 2 {
		t.Fatalf("counted %d passed, %d failed (%d kept); want 2, 2, 2: %+v", rep.Passed, rep.Failed, len(rep.Failures), rep)
	}
	for _, c := range rep.Failures {
		if strings.Contains(c.ID+c.Message, "LEAKED") {
			t.Fatalf("a report outside the build root was read: %+v", c)
		}
	}
	problems := strings.Join(rep.Problems, "\n")
	for _, want := range []string{
		"b-out.xml: not read: cannot be opened",
		"c-zero.xml: not read: cannot be opened",
		"e-fifo.xml: not read: not a regular file (a FIFO)",
		"f-huge.xml: not read: 4194305 bytes, over the limit of 4194304",
		"g-laughs.xml: not read: has a DOCTYPE",
		"h-deep.xml: not read: nested deeper than 12 elements",
		"i-dense.xml: not read: more than 200000 elements",
		"j-garbage.xml: not read: not JUnit XML",
		"k-dir.xml: not read: not a regular file (a directory)",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if strings.Contains(problems, "notes.txt") {
		t.Errorf("a file not named .xml was looked at:\n%s", problems)
	}
}

// The step can replace its reports directory, or the directory holding
// it, with a symlink to a place it cannot read itself (the service's data
// dir); nothing there is read.
func TestReadDirReplacedBySymlinkOut(t *testing.T) {
	t.Parallel()
	secret := t.TempDir()
	writeFile(t, filepath.Join(secret, "r.xml"), `<testsuite><testcase name="LEAKED"><failure/></testcase></testsuite>`)
	build := t.TempDir()
	symlink(t, secret, filepath.Join(build, ".reports"))
	root, err := os.OpenRoot(build)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rep, err := ReadDir(root, ".reports", DefaultLimits)
	if err == nil || rep.Total() != 0 {
		t.Fatalf("read through a symlink out of the root: %+v, %v", rep, err)
	}
	if err := os.Remove(filepath.Join(build, ".reports")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(build, ".reports"), 0o755)
	symlink(t, secret, filepath.Join(build, ".reports", "step-01"))
	if rep, err = ReadDir(root, ".reports/step-01", DefaultLimits); err == nil || rep.Total() != 0 {
		t.Fatalf("read through a symlink out of the root: %+v, %v", rep, err)
	}
}

func TestReadDirMissingIsEmpty(t *testing.T) {
	t.Parallel()
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rep, err := ReadDir(root, "none", DefaultLimits)
	if err != nil || rep.Total() != 0 || len(rep.Problems) != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
}

func TestReadDirBoundsTheTotal(t *testing.T) {
	t.Parallel()
	build := t.TempDir()
	one := `<testsuite><testcase name="a"/></testsuite>`
	for i := range 5 {
		writeFile(t, filepath.Join(build, fmt.Sprintf("r%d.xml", i)), one)
	}
	root, err := os.OpenRoot(build)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	lim := DefaultLimits
	lim.Total = int64(2*len(one) + 1)
	rep, err := ReadDir(root, ".", lim)
	if err != nil {
		t.Fatal(err)
	}
	// Two whole files, the third cut at the remaining byte, two unread.
	if rep.Passed != 2 || len(rep.Problems) != 3 {
		t.Fatalf("passed %d, problems %q; want 2 and 3", rep.Passed, rep.Problems)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRead5000 reads a pytest report of 5,000 cases, 50 failing
// with a traceback, as a step's reports directory holds it.
func BenchmarkRead5000(b *testing.B) {
	dir := b.TempDir()
	var x bytes.Buffer
	x.WriteString(`<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="5000">`)
	for i := range 5000 {
		if i%100 == 0 {
			fmt.Fprintf(&x, `<testcase classname="tests.test_mod%d" name="test_case_%d" time="0.001"><failure message="assert %d == 0">def test_case():
&gt;       assert value() == 0
E       assert %d == 0

tests/test_mod%d.py:%d: AssertionError</failure><system-out>captured output line</system-out></testcase>`, i/100, i, i, i, i/100, i%100+1)
			continue
		}
		fmt.Fprintf(&x, `<testcase classname="tests.test_mod%d" name="test_case_%d" time="0.001" />`, i/100, i)
	}
	x.WriteString(`</testsuite></testsuites>`)
	if err := os.WriteFile(filepath.Join(dir, "sibling.xml"), x.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	b.SetBytes(int64(x.Len()))
	// CPU time as well as wall time: on a loaded machine the wall time
	// counts the waits for a CPU.
	cpu0 := cpuTime()
	for b.Loop() {
		rep, err := ReadDir(root, ".", DefaultLimits)
		if err != nil || rep.Total() != 5000 || rep.Failed != 50 {
			b.Fatalf("%v: %d tests, %d failed", err, rep.Total(), rep.Failed)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Passing cases are counted without the parser; the counts must be the
// parser's own, whatever the document holds around them.
func TestCountsAgreeWithTheParser(t *testing.T) {
	t.Parallel()
	docs := []string{
		`<testsuites><testsuite name="a"><testcase name="p1"/><testcase name="p2" classname='x>y'/><testcase name="f"><failure/></testcase></testsuite></testsuites>`,
		`<testsuite><testsuite><testcase name="p"/></testsuite><testcase name="s"><skipped/></testcase><testcase name="o"><system-out>hi</system-out></testcase></testsuite>`,
		`<testcase name="outside a suite"/><testsuite><!-- <testcase name="in a comment"/> --><testcase name="p"/></testsuite>`,
		`<testsuite><testcase name="c"><system-out><![CDATA[<testcase name="in cdata"/>]]></system-out></testcase><testcase
  name="multi-line"
/></testsuite>`,
		`<?xml version="1.0"?><testsuite><testcase name="e"><error message="x"/></testcase><testcase name="p" /></testsuite>`,
	}
	for i, doc := range docs {
		suites, err := gojunit.Ingest([]byte(doc))
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		var want gojunit.Totals
		var walk func([]gojunit.Suite)
		walk = func(ss []gojunit.Suite) {
			for _, s := range ss {
				for _, c := range s.Tests {
					switch c.Status {
					case gojunit.StatusPassed:
						want.Passed++
					case gojunit.StatusSkipped:
						want.Skipped++
					default:
						want.Failed++
					}
				}
				walk(s.Suites)
			}
		}
		walk(suites)
		var rep Report
		if err := Parse(strings.NewReader(doc), DefaultLimits, &rep); err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if rep.Passed != want.Passed || rep.Failed != want.Failed || rep.Skipped != want.Skipped {
			t.Errorf("doc %d: %d passed, %d failed, %d skipped; the parser says %d, %d, %d",
				i, rep.Passed, rep.Failed, rep.Skipped, want.Passed, want.Failed, want.Skipped)
		}
	}
}
