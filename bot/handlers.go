package bot

import (
	"context"
	"fmt"
)

// handlerFunc handles one event. An error makes the store retry the
// delivery later, so handlers return errors only for what a retry can fix
// (GitHub or the store unreachable); bad input is logged and dropped.
type handlerFunc func(ctx context.Context, b *Bot, ev Event) error

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

// Handle handles one event synchronously.
func (b *Bot) Handle(ctx context.Context, ev Event) error {
	for _, h := range handlers {
		if h.event == ev.Name() {
			return h.handle(ctx, b, ev)
		}
	}
	b.logger(ctx).Debug("event not handled; ignored")
	return nil
}

// Dispatch decodes a stored delivery and handles it. A payload that does
// not decode is dropped with a warning, since retrying it cannot help.
func (b *Bot) Dispatch(ctx context.Context, event string, payload []byte) error {
	if b.opt.Decode == nil {
		return fmt.Errorf("bot: no decoder for %s deliveries (set Options.Decode)", event)
	}
	ev, err := b.opt.Decode(event, payload)
	if err != nil {
		b.logger(ctx).WithError(fmt.Errorf("decode payload: %w", err)).Warn("payload dropped")
		return nil
	}
	if ev == nil {
		b.logger(ctx).Debug("event not handled; ignored")
		return nil
	}
	return b.Handle(ctx, ev)
}
