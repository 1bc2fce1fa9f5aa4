package release

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Changes returns the files e's release writes in its repository: path to
// new content, nil for a file it removes. Only the bytes of the version
// string and of rewritten ranges change; everything around them stays.
func (p *Plan) Changes(e *Entry) (map[string][]byte, error) {
	st := e.state
	out := map[string][]byte{}
	for _, f := range e.Fragments {
		out[f] = nil
	}
	if !e.Released() {
		return out, nil
	}
	type edit struct {
		at   span
		with string
	}
	var pyEdits []edit
	switch st.VersionFile {
	case VersionFile:
		old := st.files[VersionFile]
		i := bytes.Index(old, []byte(e.Old))
		if i < 0 {
			return nil, fmt.Errorf("%s: %s: version %s not found", e.Sibling, VersionFile, e.Old)
		}
		out[VersionFile] = splice(old, span{i, i + len(e.Old)}, e.New)
	case PyprojectFile:
		pyEdits = append(pyEdits, edit{st.py.versionAt, e.New})
	}
	for _, rc := range e.Ranges {
		pyEdits = append(pyEdits, edit{rc.at.at, rc.at.req.text})
	}
	if len(pyEdits) > 0 {
		sort.Slice(pyEdits, func(i, j int) bool { return pyEdits[i].at.start > pyEdits[j].at.start })
		data := st.files[PyprojectFile]
		for _, ed := range pyEdits {
			data = splice(data, ed.at, ed.with)
		}
		out[PyprojectFile] = data
	}
	out[ChangelogFile] = addChangelog(st.files[ChangelogFile], p.Section(e))
	return out, nil
}

func splice(data []byte, at span, with string) []byte {
	out := make([]byte, 0, len(data)+len(with))
	out = append(out, data[:at.start]...)
	out = append(out, with...)
	return append(out, data[at.end:]...)
}

// Section is e's new CHANGELOG section.
func (p *Plan) Section(e *Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s", e.New)
	if p.Date != "" {
		fmt.Fprintf(&b, " - %s", p.Date)
	}
	b.WriteString("\n\n")
	if len(e.Notes) == 0 {
		fmt.Fprintf(&b, "- %s release.\n", strings.ToUpper(e.Bump.String()[:1])+e.Bump.String()[1:])
	}
	for _, n := range e.Notes {
		lines := strings.Split(strings.TrimSpace(n), "\n")
		for i, l := range lines {
			switch {
			case i == 0:
				b.WriteString("- " + l + "\n")
			case strings.TrimSpace(l) == "":
				b.WriteString("\n")
			default:
				b.WriteString("  " + l + "\n")
			}
		}
	}
	return b.String()
}

// addChangelog puts section above the newest existing section ("## "),
// under the title; a changelog without sections gets it after its text,
// and a missing one is created.
func addChangelog(old []byte, section string) []byte {
	if old == nil {
		return []byte("# Changelog\n\n" + section)
	}
	s := string(old)
	fence := false
	pos := 0
	for _, line := range strings.SplitAfter(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(line, "## ") {
			return []byte(s[:pos] + section + "\n" + s[pos:])
		}
		pos += len(line)
	}
	if strings.HasPrefix(strings.TrimLeft(s, "\n"), "# ") {
		return []byte(strings.TrimRight(s, "\n") + "\n\n" + section)
	}
	return []byte(section + "\n" + s)
}
