package gh

import "sort"

// Permission is a GitHub App repository permission at an access level,
// named as an App manifest names it.
type Permission struct {
	Name   string // such as "pull_requests"
	Access string // "read" or "write"
}

// callPermissions are what each call of the Client needs of a GitHub App
// installation, from GitHub's table of the permissions each endpoint
// needs. It is the one source of the permissions the App asks for
// (AppPermissions); a test calls every method through an installation
// given exactly its row, against the emulator, which refuses what the
// row does not allow and records what it used.
var callPermissions = map[string][]Permission{
	// Changesets: PRs and their Depends-On lines, wrknv.toml, who may
	// command the bot.
	"PullRequest":         {{"pull_requests", "read"}},
	"OpenPullRequests":    {{"pull_requests", "read"}},
	"EditPullRequestBody": {{"pull_requests", "write"}}, // link, unlink
	"FileContents":        {{"contents", "read"}},
	"Permission":          {{"metadata", "read"}},
	// Reports: check runs, summary comments, replies and reactions
	// (a reaction needs Issues; comments would do with Pull requests).
	"CreateCheckRun": {{"checks", "write"}},
	"UpdateCheckRun": {{"checks", "write"}},
	"CheckRuns":      {{"checks", "read"}},
	"FirstReported":  {{"statuses", "read"}, {"checks", "read"}},
	"Comments":       {{"issues", "read"}},
	"CreateComment":  {{"issues", "write"}},
	"EditComment":    {{"issues", "write"}},
	"React":          {{"issues", "write"}},
	// Landing (/workspace merge), reverts and release tags.
	"PullState":      {{"pull_requests", "read"}},
	"BranchRules":    {{"metadata", "read"}},
	"MergeMethods":   {{"metadata", "read"}},
	"Approvals":      {{"pull_requests", "read"}},
	"CheckStates":    {{"statuses", "read"}, {"checks", "read"}},
	"BranchTip":      {{"contents", "read"}},
	"Merge":          {{"contents", "write"}},
	"CommitTree":     {{"contents", "read"}},
	"TreeFiles":      {{"contents", "read"}},
	"CommitParents":  {{"contents", "read"}},
	"Tag":            {{"contents", "write"}},
	"CreateCommit":   {{"contents", "write"}},
	"CreateBranch":   {{"contents", "write"}},
	"ChangedFiles":   {{"pull_requests", "read"}},
	"PublishRelease": {{"contents", "write"}},
	// Release PRs.
	"FindOpenPullRequest": {{"pull_requests", "read"}},
	"CreatePullRequest":   {{"pull_requests", "write"}},
	"EditPullRequest":     {{"pull_requests", "write"}},
	// The actions executor (serve --executor actions): runs built in
	// workflow runs of the workspace repository.
	"DispatchWorkflow":  {{"actions", "write"}},
	"CancelWorkflowRun": {{"actions", "write"}},
	"WorkflowRun":       {{"actions", "read"}},
	"FindWorkflowRun":   {{"actions", "read"}},
}

// tokenOnlyCalls are the Client's calls a GitHub App never makes, and why.
var tokenOnlyCalls = map[string]string{
	// An App reports with check runs; commit statuses are for tokens,
	// which may not create check runs.
	"SetStatus": "an App reports with check runs",
}

// WorkflowsPermission lets an App merge a pull request that changes
// .github/workflows. It is not among AppPermissions: it lets whoever
// holds the App's key change what CI runs with the repository's
// secrets, so it is asked for only when wanted.
var WorkflowsPermission = Permission{"workflows", "write"}

// ActionsPermission lets an App dispatch and cancel workflow runs, which
// the actions executor does (serve --executor actions). AppPermissions
// asks only to read Actions (the workflow_run events need it): write lets
// whoever holds the App's key run the workspace repository's workflows,
// so it is asked for only where builds run on GitHub Actions.
var ActionsPermission = Permission{"actions", "write"}

// AppPermissions are the permissions a GitHub App running the bot needs:
// for each permission the highest access any of its calls needs, sorted
// by name; Actions at read (see ActionsPermission).
func AppPermissions() []Permission {
	max := map[string]string{}
	for _, perms := range callPermissions {
		for _, p := range perms {
			if max[p.Name] != "write" {
				max[p.Name] = p.Access
			}
		}
	}
	max[ActionsPermission.Name] = "read"
	out := make([]Permission, 0, len(max))
	for name, access := range max {
		out = append(out, Permission{name, access})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
