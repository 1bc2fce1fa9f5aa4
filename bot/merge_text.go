package bot

import (
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/land"
)

// What a landing says on GitHub: the checklist, the plan, the outcome.
// Everything from outside (branch names, GitHub's errors, paths) is
// escaped where it lands.

func checklistText(cfg *ConfigFile, c commentEvent, cs *changeset.Changeset, gate *store.Run, cl *land.Checklist, dryRun bool) string {
	var b strings.Builder
	switch {
	case dryRun && !cl.Blocked():
		fmt.Fprintf(&b, "%s landing checklist for %s (dry run: nothing merged). Everything is ready: comment %s to land it.\n\n",
			mention(c.user), mdescape.Text(cs.Key), mdescape.Code(cfg.CommandWord()+" merge"))
	case dryRun:
		fmt.Fprintf(&b, "%s landing checklist for %s (dry run: nothing merged). It cannot land yet:\n\n", mention(c.user), mdescape.Text(cs.Key))
	default:
		fmt.Fprintf(&b, "%s nothing was merged: %s cannot land yet.\n\n", mention(c.user), mdescape.Text(cs.Key))
	}
	if gate != nil {
		fmt.Fprintf(&b, "Gate: run %d passed at these heads.\n\n", gate.ID)
	}
	for _, p := range cl.Problems {
		fmt.Fprintf(&b, "- ❌ %s. Fix: %s.\n", mdescape.Text(p.What), mdescape.Text(p.Fix))
	}
	if len(cl.Problems) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "| # | PR | sibling | head | method | ready |\n|---|---|---|---|---|---|\n")
	for i, r := range cl.Rows {
		ready := "✅"
		switch {
		case r.Merged:
			ready = "merged already as " + mdescape.Code(text.ShortSHA(r.MergeSHA))
		case len(r.Problems) > 0:
			var why []string
			for _, p := range r.Problems {
				why = append(why, fmt.Sprintf("❌ %s. Fix: %s.", mdescape.Text(p.What), mdescape.Text(p.Fix)))
			}
			ready = strings.Join(why, "<br>")
		case r.Moved:
			ready = fmt.Sprintf("base moved (%s now %s): tested again first", mdescape.Text(r.Member.BaseRef), mdescape.Code(text.ShortSHA(r.BaseTip)))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", i+1, mdescape.Cell(mdescape.Text(r.Member.Ref())), mdescape.Cell(mdescape.Text(r.Member.Sibling)),
			mdescape.Cell(mdescape.Code(text.ShortSHA(r.Member.Head))), mdescape.Cell(mdescape.Text(r.Method)), mdescape.Cell(ready))
	}
	return b.String()
}

func movedList(moved []land.Row) string {
	var parts []string
	for _, r := range moved {
		parts = append(parts, fmt.Sprintf("%s (%s moved from %s to %s)", mdescape.Text(r.Member.Repo), mdescape.Text(r.Member.BaseRef),
			mdescape.Code(text.ShortSHA(r.Member.TestedBase)), mdescape.Code(text.ShortSHA(r.BaseTip))))
	}
	return strings.Join(parts, ", ")
}

func regateText(c commentEvent, moved []land.Row) string {
	return fmt.Sprintf("%s re-testing onto the new base of %s before anything merges: the tested run built onto older bases. If this run passes, the changeset lands by itself; if not, nothing merges and the reply says why.",
		mention(c.user), movedList(moved))
}

func movedText(cfg *ConfigFile, c commentEvent, moved []land.Row) string {
	return fmt.Sprintf("%s nothing was merged: the tested run built onto bases that have moved since: %s. What lands must be what was tested: comment %s to test onto the new bases, then %s again once it passes.",
		mention(c.user), movedList(moved), mdescape.Code(cfg.CommandWord()+" test"), mdescape.Code(cfg.CommandWord()+" merge"))
}

func planText(c commentEvent, cs *changeset.Changeset, gate *store.Run, cl *land.Checklist) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s landing %s now, in build order, each at the head run %d tested:\n\n", mention(c.user), mdescape.Text(cs.Key), gate.ID)
	fmt.Fprintf(&b, "| # | PR | head | onto | method |\n|---|---|---|---|---|\n")
	for i, r := range cl.Rows {
		method := mdescape.Text(r.Method)
		if r.Merged {
			method = "merged already"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s %s | %s |\n", i+1, mdescape.Cell(mdescape.Text(r.Member.Ref())), mdescape.Cell(mdescape.Code(r.Member.Head)),
			mdescape.Cell(mdescape.Text(r.Member.BaseRef)), mdescape.Cell(mdescape.Code(text.ShortSHA(r.BaseTip))), mdescape.Cell(method))
	}
	return b.String()
}

func landingOutcome(out *land.Outcome) string {
	switch {
	case out.Halted != nil:
		return "halted"
	case !out.AsTested():
		return "differs"
	}
	return "landed"
}

func landingText(cfg *ConfigFile, cs *changeset.Changeset, out *land.Outcome, tags []land.Tagged) string {
	var b strings.Builder
	switch {
	case out.Halted != nil:
		fmt.Fprintf(&b, "🚨 **Landing of %s stopped halfway.** %s did not merge: %s\n\n", mdescape.Text(cs.Key),
			mdescape.Text(out.Halted.Row.Member.Ref()), mdescape.Text(out.Halted.Why))
	case !out.AsTested():
		fmt.Fprintf(&b, "🚨 **%s landed, but not as tested.** What GitHub merged differs from what the gate built:\n\n", mdescape.Text(cs.Key))
	default:
		fmt.Fprintf(&b, "✅ **%s landed as tested.** Every member merged in build order, and each landed tree is the tree that was tested.\n\n", mdescape.Text(cs.Key))
	}
	if len(out.Landed) > 0 {
		fmt.Fprintf(&b, "| PR | merged as | landed tree |\n|---|---|---|\n")
		for _, l := range out.Landed {
			proof := "the tree tested"
			switch {
			case !l.Proof.Checked:
				proof = "not compared (the run recorded no tree)"
			case !l.Proof.Same && len(l.Proof.Paths) > 0:
				proof = "⚠️ differs in " + mdescape.Text(strings.Join(l.Proof.Paths, ", "))
				if l.Proof.BaseMovedTo != "" {
					proof += fmt.Sprintf(" (its base moved to %s before it merged)", mdescape.Code(text.ShortSHA(l.Proof.BaseMovedTo)))
				}
			case !l.Proof.Same:
				proof = fmt.Sprintf("⚠️ differs: %s, tested %s", mdescape.Code(text.ShortSHA(l.Proof.LandedTree)), mdescape.Code(text.ShortSHA(l.Proof.Tested)))
			}
			if l.Before {
				proof += " (merged before this landing)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdescape.Cell(mdescape.Text(l.Row.Member.Ref())), mdescape.Cell(mdescape.Code(l.MergeSHA)), mdescape.Cell(proof))
		}
		b.WriteString("\n")
	}
	if len(tags) > 0 {
		fmt.Fprintf(&b, "Released, each tagged at its merge commit in dependency order:\n\n| sibling | tag | commit |\n|---|---|---|\n")
		for _, t := range tags {
			what := mdescape.Code(t.Release.Tag)
			switch {
			case t.Err != nil:
				what += " ⚠️ " + mdescape.Text(t.Err.Error())
			case !t.Created:
				what += " (there already)"
			}
			if t.Published {
				what += ", published as a GitHub release"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdescape.Cell(mdescape.Text(t.Release.Member.Sibling)), mdescape.Cell(what), mdescape.Cell(mdescape.Code(text.ShortSHA(t.Release.SHA))))
		}
		b.WriteString("\n")
	}
	if out.Halted != nil {
		var left []string
		for _, r := range out.Left {
			left = append(left, r.Member.Ref())
		}
		fmt.Fprintf(&b, "Not merged: %s.\n\n", mdescape.Text(strings.Join(left, ", ")))
		fmt.Fprintf(&b, "Until this is resolved, the bases above do not hold a tested state. Two ways out:\n")
		fmt.Fprintf(&b, "- fix what stopped it, then comment %s again: what merged is skipped, and the rest are checked again;\n", mdescape.Code(cfg.CommandWord()+" merge"))
		fmt.Fprintf(&b, "- or comment %s: it opens a PR reverting each merged member, linked as one changeset, to test and land like any other, so every base returns to its tested state.\n", mdescape.Code(cfg.CommandWord()+" revert"))
	}
	return b.String()
}
