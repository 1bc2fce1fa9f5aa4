package release

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the plan for a person: sibling, old, new, why.
func (p *Plan) WriteTable(w io.Writer) error {
	if len(p.Entries) == 0 {
		_, err := fmt.Fprintf(w, "%s: nothing to release (no .changeset fragments, no feat/fix commits since the last tags)\n", p.Workspace)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SIBLING\tOLD\tNEW\tWHY")
	for _, e := range p.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Sibling, dash(e.Old), dash(e.New), strings.Join(e.Why, "; "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdownTable is the plan as a Markdown table, for PR bodies.
func (p *Plan) markdownTable() string {
	var b strings.Builder
	b.WriteString("| sibling | old | new | why |\n|---|---|---|---|\n")
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, e := range p.Entries {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", esc.Replace(e.Sibling), dash(e.Old), dash(e.New), esc.Replace(strings.Join(e.Why, "; ")))
	}
	return b.String()
}
