package bot

import (
	"regexp"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
)

// Temporary until changeset.ParseDependsOn and SetDependsOn land.
var dependsRe = regexp.MustCompile(`(?mi)^[ \t]*depends-on:[ \t]*(\S+)[ \t]*\r?$`)

func parseDependsOn(body, owner string) []changeset.Ref {
	var out []changeset.Ref
	for _, m := range dependsRe.FindAllStringSubmatch(body, -1) {
		if r, err := changeset.ParseRef(m[1], owner); err == nil {
			out = append(out, r)
		}
	}
	return out
}

func setDependsOn(body string, refs []changeset.Ref) string {
	body = strings.TrimRight(dependsRe.ReplaceAllString(body, ""), "\n")
	var b strings.Builder
	b.WriteString(body)
	if len(refs) > 0 {
		b.WriteString("\n\n")
	}
	for _, r := range refs {
		b.WriteString("Depends-On: " + r.String() + "\n")
	}
	return b.String()
}
