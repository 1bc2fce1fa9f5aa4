package bot

import (
	"context"
	"encoding/json"
	"fmt"
)

// handlerFunc handles one event's payload. An error makes the store retry
// the delivery later, so handlers return errors only for what a retry can
// fix (GitHub or the store unreachable); bad input is logged and dropped.
type handlerFunc func(ctx context.Context, b *Bot, payload []byte) error

// Handler binds an event name to its handler.
type Handler struct {
	Event  string
	Handle handlerFunc
}

// Handlers is the one list of events the bot acts on; every other event
// is acknowledged and ignored.
func Handlers() []Handler {
	return []Handler{
		{"pull_request", handlePullRequest},
		{"issue_comment", handleIssueComment},
		{"check_run", handleCheckRun},
		{"check_suite", handleCheckSuite},
	}
}

// Events are the names of the events the bot acts on, read from the one
// list of handlers: the webhook stores these deliveries and no others.
func Events() []string {
	hs := Handlers()
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Event
	}
	return out
}

func handlerMap(hs []Handler) map[string]handlerFunc {
	m := make(map[string]handlerFunc, len(hs))
	for _, h := range hs {
		m[h.Event] = h.Handle
	}
	return m
}

// Dispatch handles one event synchronously.
func (b *Bot) Dispatch(ctx context.Context, event string, payload []byte) error {
	h := b.handlers[event]
	if h == nil {
		b.logger(ctx).Debug("event not handled; ignored")
		return nil
	}
	return h(ctx, b, payload)
}

// decode unmarshals a payload; a payload that does not decode is dropped
// with a warning, since retrying it cannot help.
func decode(ctx context.Context, b *Bot, payload []byte, v any) bool {
	if err := json.Unmarshal(payload, v); err != nil {
		b.logger(ctx).WithError(fmt.Errorf("decode payload: %w", err)).Warn("payload dropped")
		return false
	}
	return true
}
