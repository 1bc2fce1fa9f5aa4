package action

import (
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/text"
)

// TokenFix is what to do when GitHub refuses the token on a sibling: the
// workflow's own GITHUB_TOKEN reaches its repository only.
const TokenFix = "give the action a token that reaches every sibling, such as an App installation token from actions/create-github-app-token"

// unreported is one repository's PRs that got no report, and why.
type unreported struct {
	repo string
	prs  map[int][]string // PR number -> what it did not get
	why  string           // GitHub's answer to the first refusal
}

// byRepository groups refusals by repository, in name order.
func byRepository(refused []bot.Refusal) []unreported {
	by := map[string]*unreported{}
	for _, r := range refused {
		u := by[strings.ToLower(r.Repo)]
		if u == nil {
			u = &unreported{repo: r.Repo, prs: map[int][]string{}, why: text.FirstLine(r.Error)}
			by[strings.ToLower(r.Repo)] = u
		}
		what := "status"
		if r.Summary {
			what = "summary comment"
		}
		u.prs[r.Number] = append(u.prs[r.Number], what)
	}
	out := make([]unreported, 0, len(by))
	for _, u := range by {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].repo < out[j].repo })
	return out
}

func (u unreported) numbers() []int {
	ns := make([]int, 0, len(u.prs))
	for n := range u.prs {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// WarnRefused says once per repository, as a warning annotation, that
// GitHub refused the step's reports there, naming the PRs and the fix.
func WarnRefused(w *Workflow, refused []bot.Refusal) {
	for _, u := range byRepository(refused) {
		var prs []string
		for _, n := range u.numbers() {
			prs = append(prs, fmt.Sprintf("%s#%d", u.repo, n))
		}
		msg := fmt.Sprintf("GitHub refused this step's reports on %s: %s got no result from this run (%s). The token cannot write statuses or comments there; %s.",
			u.repo, strings.Join(prs, ", "), u.why, TokenFix)
		w.Warning("workspace-bot: no report on "+u.repo, msg)
	}
}

// RefusedSummary is the step summary's list of the PRs that got no
// report; "" when every report went out.
func RefusedSummary(refused []bot.Refusal) string {
	groups := byRepository(refused)
	if len(groups) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### Pull requests without a report\n\n")
	b.WriteString("GitHub refused these reports, so these pull requests show no result from this run; " + TokenFix + ".\n\n")
	for _, u := range groups {
		for _, n := range u.numbers() {
			fmt.Fprintf(&b, "- %s#%d: no %s\n", mdescape.Text(u.repo), n, strings.Join(u.prs[n], " and no "))
		}
	}
	return b.String()
}
