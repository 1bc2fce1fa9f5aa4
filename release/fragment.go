package release

import (
	"strings"
)

// Fragment is one .changeset/*.md file: the packages it bumps and its
// summary, in the Changesets format:
//
//	---
//	"provide-foundation": minor
//	"pyvider": patch
//	---
//
//	Add the thing.
type Fragment struct {
	Path    string          // relative to its repository, such as .changeset/brave-fox.md
	Sibling string          // the sibling whose repository holds it
	Bumps   map[string]Bump // package name as written to bump
	Summary string
}

// FragmentDir is where fragments live in each sibling's repository.
const FragmentDir = ".changeset"

// isFragment says whether a path under FragmentDir is a fragment; the
// README Changesets puts there is not.
func isFragment(p string) bool {
	name := strings.TrimPrefix(p, FragmentDir+"/")
	return strings.HasSuffix(name, ".md") && !strings.Contains(name, "/") && !strings.EqualFold(name, "README.md")
}

// parseFragment reads one fragment; sibling and path name it in errors.
func parseFragment(sibling, path string, data []byte) (Fragment, error) {
	f := Fragment{Path: path, Sibling: sibling, Bumps: map[string]Bump{}}
	where := sibling + ": " + path
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	if !strings.HasPrefix(text, "---\n") {
		return f, inputErrorf("%s: no front matter (fix: start the file with a line \"---\", then lines like \"package-name\": minor, then \"---\" and the summary)", where)
	}
	rest := text[len("---\n"):]
	var head string
	if strings.HasPrefix(rest, "---\n") || rest == "---" {
		head, rest = "", strings.TrimPrefix(strings.TrimPrefix(rest, "---"), "\n")
	} else {
		end := strings.Index(rest, "\n---\n")
		if end < 0 {
			if !strings.HasSuffix(rest, "\n---") {
				return f, inputErrorf("%s: the front matter is not closed (fix: end it with a line \"---\")", where)
			}
			end = len(rest) - len("\n---")
			head, rest = rest[:end], ""
		} else {
			head, rest = rest[:end], rest[end+len("\n---\n"):]
		}
	}
	for n, line := range strings.Split(head, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := cutKey(line)
		if !ok {
			return f, inputErrorf("%s:%d: %q is not \"package\": patch|minor|major (fix: one package per line, such as \"provide-foundation\": minor)", where, n+2, line)
		}
		b, ok := ParseBump(val)
		if !ok {
			return f, inputErrorf("%s:%d: %q is not a bump for %s (fix: use patch, minor or major)", where, n+2, val, key)
		}
		if b > f.Bumps[key] {
			f.Bumps[key] = b
		}
	}
	f.Summary = strings.TrimSpace(rest)
	return f, nil
}

// cutKey splits `"name": value` (quotes optional, single or double).
func cutKey(line string) (key, val string, ok bool) {
	if q := line[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(line[1:], q)
		if end < 0 {
			return "", "", false
		}
		key, line = line[1:1+end], strings.TrimSpace(line[2+end:])
		if !strings.HasPrefix(line, ":") {
			return "", "", false
		}
		val = line[1:]
	} else {
		key, val, ok = strings.Cut(line, ":")
		if !ok {
			return "", "", false
		}
	}
	val = strings.Trim(strings.TrimSpace(val), `"'`)
	key = strings.TrimSpace(key)
	return key, val, key != ""
}
