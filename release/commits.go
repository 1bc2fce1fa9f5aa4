package release

import (
	"regexp"
	"strings"
)

// Commit is one commit since the last release, read as a conventional
// commit.
type Commit struct {
	SHA      string
	Subject  string
	Type     string // feat, fix, ...; "" when the subject is not conventional
	Breaking bool
}

var conventionalRe = regexp.MustCompile(`^([A-Za-z]+)(\([^)]*\))?(!)?: \S`)
var breakingFooterRe = regexp.MustCompile(`(?m)^BREAKING[ -]CHANGE: `)

// parseCommit reads a commit message.
func parseCommit(sha, message string) Commit {
	subject, body, _ := strings.Cut(strings.TrimSpace(message), "\n")
	c := Commit{SHA: sha, Subject: strings.TrimSpace(subject)}
	if m := conventionalRe.FindStringSubmatch(c.Subject); m != nil {
		c.Type = strings.ToLower(m[1])
		c.Breaking = m[3] == "!" || breakingFooterRe.MatchString(body)
	}
	return c
}

// Bump is what the commit asks for: a breaking change major, feat minor,
// fix and perf patch, anything else nothing.
func (c Commit) Bump() Bump {
	switch {
	case c.Type == "":
		return None
	case c.Breaking:
		return Major
	case c.Type == "feat":
		return Minor
	case c.Type == "fix" || c.Type == "perf":
		return Patch
	}
	return None
}

// tagVersion reads a release tag, v1.2.3 or 1.2.3.
func tagVersion(tag string) (Version, bool) {
	v, err := ParseVersion(strings.TrimPrefix(tag, "v"))
	return v, err == nil
}
