package changeset

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/provide-io/workspace-bot/internal/text"
)

// Output is a changeset as the CLI's --json and the Action's changeset
// output print it, for machines to read.
type Output struct {
	Key     string         `json:"key"`
	RunID   string         `json:"run_id"`
	Members []MemberOutput `json:"members"`
	// Excluded are the PRs that link themselves to the changeset but are
	// not in it (see Changeset.Excluded).
	Excluded []ExclusionOutput `json:"excluded,omitempty"`
}

// ExclusionOutput is one PR left out, in Output.
type ExclusionOutput struct {
	Ref    string   `json:"ref"`
	Links  []string `json:"links"`
	Reason string   `json:"reason"`
}

// MemberOutput is one member PR in Output.
type MemberOutput struct {
	Sibling  string   `json:"sibling"`
	Ref      string   `json:"ref"`
	Repo     string   `json:"repo"`
	Number   int      `json:"number"`
	Title    string   `json:"title"`
	URL      string   `json:"url"`
	HeadRef  string   `json:"head_ref"`
	HeadSHA  string   `json:"head_sha"`
	HeadRepo string   `json:"head_repo"`
	BaseRef  string   `json:"base_ref"`
	Fork     bool     `json:"fork"`
	Links    []string `json:"links"`
}

// Output is cs as machines read it; a nil changeset has no members.
func (cs *Changeset) Output() Output {
	out := Output{Members: []MemberOutput{}}
	if cs == nil {
		return out
	}
	out.Key, out.RunID = cs.Key, cs.RunID
	for _, m := range cs.Members {
		p := m.PR
		out.Members = append(out.Members, MemberOutput{Sibling: m.Sibling, Ref: p.Ref(), Repo: p.Repo, Number: p.Number,
			Title: p.Title, URL: p.URL, HeadRef: p.HeadRef, HeadSHA: p.HeadSHA, HeadRepo: p.HeadRepo,
			BaseRef: p.BaseRef, Fork: p.Fork, Links: LinkWords(m.Links)})
	}
	for _, e := range cs.Excluded {
		out.Excluded = append(out.Excluded, ExclusionOutput{Ref: e.PR.String(), Links: LinkWords(e.Links), Reason: string(e.Reason)})
	}
	return out
}

// WriteTable prints the changeset of workspace ws for a person: its key,
// its run id, and a row per member.
func (cs *Changeset) WriteTable(w io.Writer, ws string) error {
	fmt.Fprintf(w, "%s changeset %s\nrun id %s, %d pull request(s)\n\n", ws, cs.Key, cs.RunID, len(cs.Members))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SIBLING\tPR\tSHA\tBASE\tHEAD\tLINKED BY")
	for _, m := range cs.Members {
		p := m.PR
		head := p.HeadRef
		if p.Fork {
			head = p.HeadRepo + ":" + p.HeadRef
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Sibling, p.Ref(), text.ShortSHA(p.HeadSHA), p.BaseRef, head, strings.Join(LinkWords(m.Links), "; "))
	}
	return tw.Flush()
}
