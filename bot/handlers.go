package bot

import (
	"context"
	"errors"

	"github.com/provide-io/workspace-bot/changeset"
)

// handlerFunc handles one event. An error makes the store retry the
// delivery later, so handlers return errors only for what a retry can fix
// (GitHub or the store unreachable); bad input is logged and dropped.
type handlerFunc func(ctx context.Context, h *eventState, ev Event) error

// handler binds an event name to its handler.
type handler struct {
	event  string
	handle handlerFunc
}

// handlers is the one list of events the bot acts on; every other event
// is acknowledged and ignored.
var handlers = []handler{
	{"pull_request", handlePullRequest},
	{"issue_comment", handleIssueComment},
	{"check_run", handleRerun},
	{"check_suite", handleRerun},
	{"workflow_run", handleWorkflow},
	{"workflow_job", handleWorkflow},
}

// Events are the names of the events the bot acts on, read from the one
// list of handlers: the webhook stores these deliveries and no others.
func Events() []string {
	out := make([]string, len(handlers))
	for i, h := range handlers {
		out[i] = h.event
	}
	return out
}

// eventState is one event being handled: the core, and what it did so far.
type eventState struct {
	*Bot
	handled Handled
	cfg     *ConfigFile
	// perms are the permission API's answers for this event.
	perms perms
	// approvals are what became of the untrusted heads of the plans an
	// approving command made, for its reply.
	approvals []headApproval
}

// config reads the workspace config once for the event: its commands and
// the runs it makes see the same config.
func (h *eventState) config(ctx context.Context) (*ConfigFile, error) {
	if h.cfg == nil {
		cfg, err := h.Bot.config(ctx)
		if err != nil {
			return nil, err
		}
		h.cfg = cfg
	}
	return h.cfg, nil
}

// Handle handles one event synchronously and says what it did.
func (b *Bot) Handle(ctx context.Context, ev Event) (*Handled, error) {
	if b.rec == nil {
		return nil, errors.New("bot: handling events needs Options.Records")
	}
	h := &eventState{Bot: b}
	for _, x := range handlers {
		if x.event == ev.Name() {
			err := x.handle(ctx, h, ev)
			return &h.handled, err
		}
	}
	b.logger(ctx).Debug("event not handled; ignored")
	return &h.handled, nil
}

// Test builds the changeset of the PR ref as a push to it would: the
// Action's "test" command, whatever the event's action was.
func (b *Bot) Test(ctx context.Context, ref changeset.Ref, reason string) (*Handled, error) {
	if b.rec == nil {
		return nil, errors.New("bot: handling events needs Options.Records")
	}
	h := &eventState{Bot: b}
	err := h.trigger(ctx, trigger{start: &changeset.PR{Repo: ref.Repo, Number: ref.Number}, reason: reason})
	return &h.handled, err
}

// handleWorkflow tells the watcher of remote builds that a workflow run
// or job moved: a job that ended without posting its result is lost, and
// found now rather than at the next poll. The watcher reads the run from
// GitHub itself; the event only says when to look.
func handleWorkflow(ctx context.Context, h *eventState, ev Event) error {
	if h.workflowEvent != nil {
		h.workflowEvent(ctx, ev.(*WorkflowEvent))
	}
	return nil
}
