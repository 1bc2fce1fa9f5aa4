// Package junit reads the JUnit XML reports a step leaves in its reports
// directory. The files are written by the code under test, so everything
// about them is hostile: where they point, what kind of file they are,
// how big and how deeply nested they are, and every string in them.
// Parsing is go-junit's; this package decides what reaches it.
package junit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	gojunit "github.com/joshdk/go-junit"
)

// Limits bound what a reports directory may cost to read.
type Limits struct {
	// File and Total cap the bytes read of one file and of a directory;
	// a bigger file is not parsed (it is named in Problems).
	File, Total int64
	// Files caps how many entries of a directory are looked at.
	Files int
	// Depth and Elements cap one file's nesting and element count: the
	// parser keeps a node per element and copies each element's inner
	// XML, so a deep or dense file would cost memory far beyond its size.
	Depth, Elements int
	// Failures caps the failing tests kept with their text (all are
	// counted); Message and Output cap a kept failure's message and
	// output, in bytes.
	Failures, Message, Output int
}

// DefaultLimits fit a suite of tens of thousands of tests (5,000 pytest
// cases make about 1 MB of XML) and keep a run's stored result small.
var DefaultLimits = Limits{
	File: 4 << 20, Total: 16 << 20, Files: 64,
	Depth: 12, Elements: 200_000,
	Failures: 200, Message: 1 << 10, Output: 4 << 10,
}

// Report is what a step's JUnit files say.
type Report struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"` // failures and errors
	Skipped int `json:"skipped"`
	// Failures are the failing tests kept (Limits.Failures), in the
	// order the files list them; Omitted counts those not kept.
	Failures []Case `json:"failures,omitempty"`
	Omitted  int    `json:"omitted,omitempty"`
	// Problems name the files that were not read, and why.
	Problems []string `json:"problems,omitempty"`
}

// Total is every test counted.
func (r *Report) Total() int { return r.Passed + r.Failed + r.Skipped }

// Add counts o's tests in r and keeps its failures up to max.
func (r *Report) Add(o *Report, max int) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Skipped += o.Skipped
	r.Omitted += o.Omitted
	for _, c := range o.Failures {
		if len(r.Failures) < max {
			r.Failures = append(r.Failures, c)
		} else {
			r.Omitted++
		}
	}
	r.Problems = append(r.Problems, o.Problems...)
}

// Case is one failing test.
type Case struct {
	// ID names the test: its class name and name, as "classname::name".
	ID string `json:"id"`
	// File and Line are where it failed, as the report names them
	// (relative to the directory the test ran in, or absolute); Line is
	// 0 when unknown.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Checkout and Path are set by the runner when File lies in one of
	// the workspace's checkouts: the sibling (or the workspace) whose
	// repository holds it, and its path there.
	Checkout string `json:"checkout,omitempty"`
	Path     string `json:"path,omitempty"`
	// Error: the test errored rather than failed an assertion.
	Error   bool   `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Output is the failure's text (the traceback) and what the test
	// printed, its end kept when too long.
	Output string `json:"output,omitempty"`
}

// Parse reads one JUnit XML document from r, within lim, into rep.
func Parse(r io.Reader, lim Limits, rep *Report) error {
	data, err := io.ReadAll(io.LimitReader(r, lim.File+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > lim.File {
		return fmt.Errorf("larger than %d bytes", lim.File)
	}
	return parseBytes(data, lim, rep)
}

func parseBytes(data []byte, lim Limits, rep *Report) error {
	sh, err := checkShape(data, lim)
	if err != nil {
		return err
	}
	// What is left of a large passing suite is a few elements, so the
	// parser's cost follows the failures, not the suite's size.
	if len(sh.passed) > 0 {
		kept := make([]byte, 0, len(data))
		at := 0
		for _, p := range sh.passed {
			kept = append(kept, data[at:p[0]]...)
			at = p[1]
		}
		data = append(kept, data[at:]...)
	}
	suites, err := gojunit.Ingest(data)
	if err != nil {
		return fmt.Errorf("not JUnit XML: %v", oneLine(err.Error(), 200))
	}
	rep.Passed += len(sh.passed)
	var walk func([]gojunit.Suite)
	walk = func(ss []gojunit.Suite) {
		for _, s := range ss {
			for _, t := range s.Tests {
				rep.count(t, lim)
			}
			walk(s.Suites)
		}
	}
	walk(suites)
	return nil
}

// shape is what checkShape found: the byte spans of the testcase
// elements that passed with nothing to say (<testcase .../> in a
// testsuite), counted without the parser.
type shape struct {
	passed [][2]int
}

// checkShape refuses, before go-junit builds its tree, a document nested
// deeper than lim.Depth, with more than lim.Elements elements, or with a
// DTD (encoding/xml never expands entities, but a report has no use for
// one). It only reads tags, as encoding/xml does (comments, CDATA,
// processing instructions and quoted attribute values passed over), and
// leaves whether the XML is well formed to the parser: a tokenizing pass
// here would cost as much as the parse itself.
func checkShape(data []byte, lim Limits) (shape, error) {
	var sh shape
	var open []string // the names of the elements open
	suites, elements := 0, 0
	skip := func(i int, end string) int {
		j := bytes.Index(data[i:], []byte(end))
		if j < 0 {
			return len(data)
		}
		return i + j + len(end)
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			break
		}
		start := i + j
		i = start + 1
		rest := data[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			i = skip(i, "-->")
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			i = skip(i, "]]>")
		case bytes.HasPrefix(rest, []byte("?")):
			i = skip(i, "?>")
		case bytes.HasPrefix(rest, []byte("!")):
			return sh, errors.New("has a DOCTYPE or other declaration (a JUnit report needs none)")
		case bytes.HasPrefix(rest, []byte("/")):
			if n := len(open); n > 0 {
				if open[n-1] == "testsuite" {
					suites--
				}
				open = open[:n-1]
			}
			i = skip(i, ">")
		default:
			elements++
			if len(open) >= lim.Depth {
				return sh, fmt.Errorf("nested deeper than %d elements", lim.Depth)
			}
			if elements > lim.Elements {
				return sh, fmt.Errorf("more than %d elements", lim.Elements)
			}
			n := bytes.IndexAny(rest, " \t\r\n/>")
			if n < 0 {
				n = len(rest)
			}
			name := rest[:n]
			// To the tag's end, past quoted values that may hold '>'.
			closed, quote := false, byte(0)
			for ; i < len(data); i++ {
				c := data[i]
				if quote != 0 {
					if c == quote {
						quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' {
					quote = c
				} else if c == '>' {
					closed = data[i-1] == '/'
					i++
					break
				}
			}
			switch {
			case closed && suites > 0 && string(name) == "testcase":
				sh.passed = append(sh.passed, [2]int{start, i})
			case closed:
			default:
				if string(name) == "testsuite" {
					suites++
				}
				open = append(open, string(name))
			}
		}
	}
	return sh, nil
}

func (rep *Report) count(t gojunit.Test, lim Limits) {
	switch t.Status {
	case gojunit.StatusPassed:
		rep.Passed++
		return
	case gojunit.StatusSkipped:
		rep.Skipped++
		return
	}
	rep.Failed++
	if len(rep.Failures) >= lim.Failures {
		rep.Omitted++
		return
	}
	c := Case{ID: t.Name, Error: t.Status == gojunit.StatusError}
	if t.Classname != "" {
		c.ID = t.Classname + "::" + t.Name
	}
	c.ID = clip(c.ID, lim.Message)
	var body string
	if e, ok := t.Error.(gojunit.Error); ok {
		body = e.Body
		if c.Message = e.Message; c.Message == "" {
			c.Message = e.Type
		}
	}
	if c.Message == "" {
		c.Message = t.Message
	}
	c.Message = clip(strings.TrimSpace(c.Message), lim.Message)
	c.File, c.Line = location(body, t.Properties)
	c.File = clip(c.File, lim.Message)
	out := strings.TrimSpace(body)
	for _, s := range []string{t.SystemOut, t.SystemErr} {
		if s = strings.TrimSpace(s); s != "" {
			out += "\n\n" + s
		}
	}
	c.Output = tail(strings.TrimSpace(out), lim.Output)
	rep.Failures = append(rep.Failures, c)
}

// Where a traceback says a test failed: pytest's "path:12: AssertionError"
// and Python's own 'File "path", line 12'. The first is the test's own
// frame (a traceback starts at the test), where a reader looks first.
var (
	pytestLoc = regexp.MustCompile(`(?m)^([^\s:"<>|]+\.[A-Za-z0-9]+):(\d+): `)
	pythonLoc = regexp.MustCompile(`(?m)^\s*File "([^"<>|]+)", line (\d+)`)
	// A pytest fixture error: "file tests/test_x.py, line 22".
	fixtureLoc = regexp.MustCompile(`(?m)^file ([^\s,"<>|]+), line (\d+)`)
)

// location is where a failure happened: from its traceback, else the
// testcase's file and line attributes (pytest's xunit1, many other tools).
func location(body string, attrs map[string]string) (string, int) {
	for _, re := range []*regexp.Regexp{pytestLoc, pythonLoc, fixtureLoc} {
		if m := re.FindStringSubmatch(body); m != nil {
			if n, err := strconv.Atoi(m[2]); err == nil && n > 0 {
				return m[1], n
			}
		}
	}
	file := attrs["file"]
	if file == "" {
		return "", 0
	}
	n, err := strconv.Atoi(attrs["line"])
	if err != nil || n < 0 {
		n = 0
	}
	return file, n
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// tail keeps the last n bytes of s, saying how much was cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return fmt.Sprintf("[... %d bytes cut ...]\n", cut) + s[cut:]
}

func oneLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clip(s, n)
}
