package release

import (
	"fmt"
	"reflect"
	"regexp"

	"github.com/BurntSushi/toml"
)

// span is a byte range of a file.
type span struct{ start, end int }

// depString is one entry of [project] dependencies and where its text
// (inside the quotes) sits in the file.
type depString struct {
	req requirement
	at  span
}

// pyproject is what a release reads from and edits in pyproject.toml. The
// values come from a real TOML decoder; the spans come from a scan of the
// [project] table, and the two must agree before anything is edited.
type pyproject struct {
	name       string
	version    string
	versionAt  span // zero when there is no literal version
	deps       []depString
	hasProject bool
}

var (
	projectHeaderRe = regexp.MustCompile(`(?m)^[ \t]*\[project\][ \t]*(?:#.*)?$`)
	tableHeaderRe   = regexp.MustCompile(`(?m)^[ \t]*\[`)
	versionKeyRe    = regexp.MustCompile(`(?m)^[ \t]*version[ \t]*=[ \t]*(?:"([^"\\\n]*)"|'([^'\n]*)')`)
	depsKeyRe       = regexp.MustCompile(`(?m)^[ \t]*dependencies[ \t]*=[ \t]*\[`)
)

func parsePyproject(file string, data []byte) (*pyproject, error) {
	var raw struct {
		Project *struct {
			Name         string   `toml:"name"`
			Version      string   `toml:"version"`
			Dependencies []string `toml:"dependencies"`
		} `toml:"project"`
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, inputErrorf("%s: not valid TOML: %v (fix the syntax)", file, err)
	}
	py := &pyproject{}
	if raw.Project == nil {
		return py, nil
	}
	py.hasProject = true
	py.name, py.version = raw.Project.Name, raw.Project.Version

	// The [project] table runs from its header to the next header.
	h := projectHeaderRe.FindIndex(data)
	if h == nil {
		return nil, inputErrorf("%s: [project] is not written as a [project] table header (fix: write it as one so its version can be edited in place)", file)
	}
	lo, hi := h[1], len(data)
	if next := tableHeaderRe.FindIndex(data[lo:]); next != nil {
		hi = lo + next[0]
	}
	table := data[lo:hi]

	if py.version != "" {
		m := versionKeyRe.FindSubmatchIndex(table)
		g := 2
		if m != nil && m[2] < 0 {
			g = 4
		}
		if m == nil || string(table[m[g]:m[g+1]]) != py.version {
			return nil, inputErrorf("%s: cannot find [project] version = %q as a plain string (fix: write it on one line as version = \"%s\")", file, py.version, py.version)
		}
		py.versionAt = span{lo + m[g], lo + m[g+1]}
	}

	var found []string
	if m := depsKeyRe.FindIndex(table); m != nil {
		deps, err := scanStrings(data, lo+m[1])
		if err != nil {
			return nil, inputErrorf("%s: [project] dependencies: %v (fix: write each dependency as a plain quoted string)", file, err)
		}
		for _, d := range deps {
			found = append(found, string(data[d.start:d.end]))
			req, err := parseRequirement(string(data[d.start:d.end]))
			if err != nil {
				return nil, inputErrorf("%s: [project] dependencies: %v (fix: use PEP 508, such as \"provide-foundation>=0.4.0\")", file, err)
			}
			py.deps = append(py.deps, depString{req: req, at: d})
		}
	}
	if len(found) != len(raw.Project.Dependencies) || (len(found) > 0 && !reflect.DeepEqual(found, raw.Project.Dependencies)) {
		return nil, inputErrorf("%s: cannot locate [project] dependencies in the file (fix: write them as dependencies = [\"a>=1\", ...] inside the [project] table)", file)
	}
	return py, nil
}

// scanStrings reads the string literals of a TOML array starting at i
// (just after "["), skipping comments, up to the closing "]".
func scanStrings(data []byte, i int) ([]span, error) {
	var out []span
	for i < len(data) {
		switch c := data[i]; c {
		case ']':
			return out, nil
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
			continue
		case '"', '\'':
			j := i + 1
			for j < len(data) && data[j] != c && data[j] != '\n' {
				if c == '"' && data[j] == '\\' {
					return nil, fmt.Errorf("escape sequences are not supported")
				}
				j++
			}
			if j >= len(data) || data[j] != c {
				return nil, fmt.Errorf("unterminated string")
			}
			if j+2 < len(data) && data[j+1] == c && data[j+2] == c || j == i+1 && j+1 < len(data) && data[j+1] == c {
				return nil, fmt.Errorf("multi-line strings are not supported")
			}
			out = append(out, span{i + 1, j})
			i = j + 1
			continue
		}
		i++
	}
	return nil, fmt.Errorf("unterminated array")
}
