package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
)

// commentEvent is the comment the commands come from.
type commentEvent struct {
	repo        string
	number      int
	commentID   int64
	body        string
	user        string
	association string
	// canWrite: the permission API says the commenter can push.
	canWrite bool
	// at is when GitHub says the comment was made.
	at time.Time
}

// handleIssueComment runs the commands of a new comment on an open PR.
func handleIssueComment(ctx context.Context, h *eventState, e Event) error {
	ev, ok := e.(*CommentEvent)
	// Comments on plain issues are not about a changeset.
	if !ok || ev.Action != "created" || !ev.OnPR || ev.IssueState != "open" {
		return nil
	}
	c := commentEvent{
		repo:        ev.Repo,
		number:      ev.Number,
		commentID:   ev.Comment.ID,
		body:        ev.Comment.Body,
		user:        ev.Comment.User,
		association: ev.Comment.AuthorAssociation,
		at:          ev.Comment.CreatedAt,
	}
	if c.repo == "" || c.number == 0 {
		return nil
	}
	// The bot's own comments quote commands (help) and test output (the
	// summary's log tail): reading them would let code under test command
	// the bot.
	if self, err := h.isSelf(ctx, c.user); err != nil || self {
		return err
	}
	cfg, err := h.config(ctx)
	if err != nil {
		return err
	}
	cmds := parseCommands(c.body, cfg.CommandWord())
	if len(cmds) == 0 {
		return nil
	}
	ref := fmt.Sprintf("%s#%d", c.repo, c.number)
	ctx = logging.With(ctx, h.logger(ctx).WithFields(map[string]any{logging.PR: ref, logging.User: c.user}))

	trust, err := h.trustedUser(ctx, cfg, c.repo, c.user, c.association)
	if err != nil {
		return err
	}
	c.canWrite = trust.Write
	if !trust.Read {
		return h.refuse(ctx, cfg, c)
	}
	var bad []command
	for _, cmd := range cmds {
		if cmd.Err != nil {
			bad = append(bad, cmd)
		}
	}
	if len(bad) > 0 {
		h.react(ctx, c, "confused")
		return h.reply(ctx, c, fmt.Sprintf("%s I did not understand %s (%s).\n\n%s", mention(c.user), mdescape.Code(strings.TrimSpace(bad[0].Line)), mdescape.Text(bad[0].Err.Error()), helpText(cfg.CommandWord())))
	}
	// A command that builds, cancels or edits a PR body is a write
	// action: the association alone never grants one.
	var run, denied []command
	for _, cmd := range cmds {
		if writes(cmd.Verb) && !c.canWrite {
			denied = append(denied, cmd)
		} else {
			run = append(run, cmd)
		}
	}
	if len(run) > 0 {
		h.react(ctx, c, "+1")
	} else {
		h.react(ctx, c, "-1")
	}
	if len(denied) > 0 {
		h.logger(ctx).WithField(logging.Command, denied[0].Verb).Info("write command from a user without write permission refused")
		if err := h.reply(ctx, c, deniedText(cfg, c, trust.Permission, denied)); err != nil {
			return err
		}
	}
	for _, cmd := range run {
		h.logger(ctx).WithField(logging.Command, cmd.Verb).Info("command accepted")
		if err := h.runCommand(ctx, cfg, c, cmd); err != nil {
			return err
		}
	}
	return nil
}

// writes says whether a verb is a write action: it runs code, stops a
// run or edits a PR body.
func writes(verb string) bool {
	switch verb {
	case verbTest, verbRetest, verbCancel, verbLink, verbUnlink, verbMerge, verbRevert:
		return true
	}
	return false
}

// permission is user's permission on repo from the collaborator
// permission API; "none" when GitHub says they are not a collaborator.
func (h *eventState) permission(ctx context.Context, repo, user string) (string, error) {
	if perm, ok := h.perms.get(repo, user); ok {
		return perm, nil
	}
	perm, err := h.gh.Permission(ctx, repo, user)
	if errors.Is(err, changeset.ErrNotFound) || errors.Is(err, changeset.ErrForbidden) {
		h.perms.set(repo, user, "none")
		return "none", nil
	}
	if err != nil {
		return "", fmt.Errorf("permission of %s on %s: %w", user, repo, err)
	}
	if perm == "" {
		perm = "none"
	}
	h.perms.set(repo, user, perm)
	return perm, nil
}

// deniedText answers write commands from a user who may not push.
func deniedText(cfg *ConfigFile, c commentEvent, perm string, denied []command) string {
	verbs := make([]string, 0, len(denied))
	for _, d := range denied {
		verbs = append(verbs, mdescape.Code(cfg.CommandWord()+" "+d.Verb))
	}
	need, it := "needs", "it"
	if len(denied) > 1 {
		need, it = "need", "them"
	}
	return fmt.Sprintf("%s %s %s write permission on %s, and GitHub says yours is %s, so I have not acted on %s. %s and %s need none.",
		mention(c.user), strings.Join(verbs, ", "), need, mdescape.Text(c.repo), mdescape.Text(perm), it,
		mdescape.Code(cfg.CommandWord()+" status"), mdescape.Code(cfg.CommandWord()+" help"))
}

// refuse answers an untrusted author once per PR, however many commands
// they write.
func (h *eventState) refuse(ctx context.Context, cfg *ConfigFile, c commentEvent) error {
	key := fmt.Sprintf("refused:%s#%d:%s", c.repo, c.number, strings.ToLower(c.user))
	// Two comments handled at once must not both find no refusal yet.
	h.refuseMu.Lock()
	defer h.refuseMu.Unlock()
	if _, done, err := h.rec.Meta(ctx, key); err != nil || done {
		return err
	}
	h.logger(ctx).Info("command from an untrusted author refused")
	msg := fmt.Sprintf("%s thanks for the interest! Only members and collaborators of this project (author association %s) can run %s commands, so I have not acted on this. A maintainer can comment %s to run the workspace tests.",
		mention(c.user), mdescape.Text(strings.Join(cfg.Trusted(), ", ")), mdescape.Code(cfg.CommandWord()), mdescape.Code(cfg.CommandWord()+" test"))
	if err := h.reply(ctx, c, msg); err != nil {
		return err
	}
	return h.rec.SetMeta(ctx, key, "1")
}

func (h *eventState) react(ctx context.Context, c commentEvent, content string) {
	if err := h.gh.React(ctx, c.repo, c.commentID, content); err != nil {
		h.logger(ctx).WithError(err).Warn("reacting to the comment failed")
	}
}

func (h *eventState) reply(ctx context.Context, c commentEvent, body string) error {
	if _, err := h.gh.CreateComment(ctx, c.repo, c.number, body); err != nil {
		return fmt.Errorf("reply on %s#%d: %w", c.repo, c.number, err)
	}
	h.handled.Replies = append(h.handled.Replies, body)
	return nil
}

func (h *eventState) runCommand(ctx context.Context, cfg *ConfigFile, c commentEvent, cmd command) error {
	switch cmd.Verb {
	case verbHelp:
		return h.reply(ctx, c, helpText(cfg.CommandWord()))
	case verbTest, verbRetest:
		return h.commandTest(ctx, cfg, c, cmd.All)
	case verbStatus:
		return h.commandStatus(ctx, cfg, c)
	case verbCancel:
		return h.commandCancel(ctx, cfg, c)
	case verbLink, verbUnlink:
		return h.commandLink(ctx, cfg, c, cmd)
	case verbMerge:
		return h.commandMerge(ctx, cfg, c, cmd.DryRun)
	case verbRevert:
		return h.commandRevert(ctx, cfg, c)
	}
	return nil
}

// commandTest runs the changeset now. Only a commenter who can push gets
// here (writes), so the command approves the untrusted heads the bot had
// seen by the comment's time, and the reply names each of them.
func (h *eventState) commandTest(ctx context.Context, cfg *ConfigFile, c commentEvent, all bool) error {
	pr, err := h.gh.PullRequest(ctx, c.repo, c.number)
	if err != nil {
		return fmt.Errorf("read %s#%d: %w", c.repo, c.number, err)
	}
	h.approvals = nil
	t := trigger{start: pr, force: true, all: all, approval: &approval{by: c.user, at: c.at},
		reason: fmt.Sprintf("%s test by @%s on %s", cfg.CommandWord(), c.user, pr.Ref())}
	if err := h.trigger(ctx, t); err != nil {
		return err
	}
	if len(h.approvals) == 0 {
		return nil
	}
	return h.reply(ctx, c, approvalText(cfg, c, h.approvals))
}

// approvalText says exactly what an approving command covered: every
// untrusted member and the head approved, and the heads it could not
// cover because the bot first saw them after the comment was made.
func approvalText(cfg *ConfigFile, c commentEvent, approvals []headApproval) string {
	var b strings.Builder
	seen := map[store.HeadKey]bool{}
	var late []headApproval
	fmt.Fprintf(&b, "%s these heads from authors who are not trusted are approved to run, and only these: a push to any of them needs a new approval.\n\n", mention(c.user))
	fmt.Fprintf(&b, "| PR | author | head | approved by |\n|---|---|---|---|\n")
	rows := 0
	for _, a := range approvals {
		k := headKey(a.PR)
		if seen[k] {
			continue
		}
		seen[k] = true
		if a.Late {
			late = append(late, a)
			continue
		}
		rows++
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdescape.Cell(mdescape.Text(a.PR.Ref())), mdescape.Cell(mdescape.Text(a.PR.Author)),
			mdescape.Cell(mdescape.Code(a.PR.HeadSHA)), mdescape.Cell(mdescape.Text(a.By)))
	}
	if rows == 0 {
		b.Reset()
		fmt.Fprintf(&b, "%s nothing is approved.\n", mention(c.user))
	}
	for _, a := range late {
		when := "after"
		if c.at.IsZero() {
			when = "at an unknown time relative to"
		}
		fmt.Fprintf(&b, "\nNot approved: %s at %s (%s) was first seen %s, %s your comment (%s). It may have been pushed after you looked: comment %s again to approve it.\n",
			mdescape.Text(a.PR.Ref()), mdescape.Code(a.PR.HeadSHA), mdescape.Text(a.PR.Author), stamp(a.FirstSeen), when, stamp(c.at),
			mdescape.Code(cfg.CommandWord()+" test"))
	}
	return b.String()
}

// mention is @login for a login GitHub could have given (letters,
// digits, hyphens, an app's "[bot]"): the bot answers the commenter. Any
// other string is shown as text and mentions nobody.
func mention(login string) string {
	name := strings.TrimSuffix(login, "[bot]")
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return mdescape.Text(login)
	}
	return "@" + login
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "time unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// resolveFor resolves the changeset of the commented PR, answering the
// comment when it cannot be resolved.
func (h *eventState) resolveFor(ctx context.Context, cfg *ConfigFile, c commentEvent) (*changeset.Changeset, error) {
	cs, err := h.opt.Resolve(ctx, h.gh, cfg.Config, changeset.Ref{Repo: c.repo, Number: c.number}, changeset.Options{Trusted: h.trustFunc(cfg)})
	if err != nil {
		if retryable(err) {
			return nil, err
		}
		return nil, h.reply(ctx, c, "The changeset of this PR cannot be resolved: "+mdescape.Text(err.Error()))
	}
	return cs, nil
}

func (h *eventState) commandStatus(ctx context.Context, cfg *ConfigFile, c commentEvent) error {
	cs, err := h.resolveFor(ctx, cfg, c)
	if cs == nil {
		return err
	}
	r, err := h.runs.latest(ctx, cs.Key)
	if errors.Is(err, store.ErrNotFound) {
		return h.reply(ctx, c, fmt.Sprintf("No run yet for the changeset %s. Comment %s to start one.", mdescape.Text(cs.Key), mdescape.Code(cfg.CommandWord()+" test")))
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Latest run of %s: **%s**", mdescape.Text(cs.Key), mdescape.Text(r.Label()))
	if u := h.runURL(r.ID); u != "" {
		msg += fmt.Sprintf(" ([run %d](%s))", r.ID, mdescape.URL(u))
	} else {
		msg += fmt.Sprintf(" (run %d)", r.ID)
	}
	if r.Reason != "" {
		msg += ", started by " + mdescape.Text(r.Reason)
	}
	if r.Heads != cs.RunID {
		msg += fmt.Sprintf(".\n\nThe heads changed since; comment %s to test the current ones.", mdescape.Code(cfg.CommandWord()+" test"))
	}
	return h.reply(ctx, c, msg)
}

func (h *eventState) commandCancel(ctx context.Context, cfg *ConfigFile, c commentEvent) error {
	cs, err := h.resolveFor(ctx, cfg, c)
	if cs == nil {
		return err
	}
	why := "comment on " + fmt.Sprintf("%s#%d", c.repo, c.number)
	n, err := h.runs.cancel(ctx, NewPlan(cfg, cs), &Cancel{By: "@" + c.user, Why: why,
		Next: fmt.Sprintf("comment %s test to run again", cfg.CommandWord())})
	if err != nil {
		return err
	}
	if n == 0 {
		return h.reply(ctx, c, fmt.Sprintf("Nothing to cancel: no run of %s is queued or running.", mdescape.Text(cs.Key)))
	}
	return nil
}

// commandLink edits the PR body's Depends-On lines, the one place links
// live, then resolves the changeset again.
func (h *eventState) commandLink(ctx context.Context, cfg *ConfigFile, c commentEvent, cmd command) error {
	pr, err := h.gh.PullRequest(ctx, c.repo, c.number)
	if err != nil {
		return fmt.Errorf("read %s#%d: %w", c.repo, c.number, err)
	}
	owner := strings.SplitN(c.repo, "/", 2)[0]
	var refs []changeset.Ref
	for _, a := range cmd.Args {
		r, err := changeset.ParseRef(a, owner)
		if err != nil {
			return h.reply(ctx, c, fmt.Sprintf("%s is not a PR reference (%s).\n\n%s", mdescape.Code(a), mdescape.Text(err.Error()), helpText(cfg.CommandWord())))
		}
		refs = append(refs, r)
	}
	var self []string
	var edit []changeset.Ref
	for _, r := range refs {
		if strings.EqualFold(r.Repo, pr.Repo) && r.Number == pr.Number {
			self = append(self, r.String())
		} else {
			edit = append(edit, r)
		}
	}
	var ed changeset.Edit
	if cmd.Verb == verbLink {
		ed, err = changeset.AddDependsOn(pr.Body, owner, edit)
	} else {
		ed, err = changeset.RemoveDependsOn(pr.Body, owner, edit)
	}
	if errors.Is(err, changeset.ErrCannotEdit) {
		return h.reply(ctx, c, fmt.Sprintf("I have not changed the body of %s: %s. Edit its `Depends-On:` lines by hand.", mdescape.Text(pr.Ref()), mdescape.Text(err.Error())))
	}
	if err != nil {
		return err
	}
	if ed.Body != pr.Body {
		if err := h.gh.EditPullRequestBody(ctx, pr.Repo, pr.Number, ed.Body); err != nil {
			return fmt.Errorf("edit the body of %s: %w", pr.Ref(), err)
		}
		pr.Body = ed.Body
	}
	if msg := linkNotes(cmd.Verb, pr.Ref(), self, ed.Unchanged); msg != "" {
		if err := h.reply(ctx, c, msg); err != nil {
			return err
		}
	}
	return h.trigger(ctx, trigger{start: pr, reason: fmt.Sprintf("%s %s by @%s on %s", cfg.CommandWord(), cmd.Verb, c.user, pr.Ref())})
}

// linkNotes says what a link or unlink left as it was, and why.
func linkNotes(verb, pr string, self []string, unchanged []changeset.Ref) string {
	var notes []string
	if len(self) > 0 {
		notes = append(notes, fmt.Sprintf("%s is this PR: a PR does not depend on itself.", mdescape.Text(pr)))
	}
	if len(unchanged) > 0 {
		names := make([]string, len(unchanged))
		for i, r := range unchanged {
			names[i] = mdescape.Text(r.String())
		}
		if verb == verbLink {
			notes = append(notes, fmt.Sprintf("Already linked: %s.", strings.Join(names, ", ")))
		} else {
			notes = append(notes, fmt.Sprintf("Not linked, so nothing to remove: %s (a `Depends-On:` line in a quote, an HTML comment or a code block does not link).", strings.Join(names, ", ")))
		}
	}
	return strings.Join(notes, " ")
}
