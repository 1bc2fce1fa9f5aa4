package bot

import (
	"context"

	"github.com/sirupsen/logrus"
)

// Log field keys; constants so every line spells them the same.
const (
	FieldDelivery  = "delivery"
	FieldEvent     = "event"
	FieldAction    = "action"
	FieldPR        = "pr"
	FieldChangeset = "changeset"
	FieldRun       = "run"
	FieldState     = "state"
	FieldUser      = "user"
	FieldCommand   = "command"
	FieldDuration  = "duration_ms"
	FieldWorker    = "worker"
	FieldSHA       = "sha"
	FieldForks     = "forks"
	FieldCoalesced = "coalesced"
	FieldStack     = "stack"
	FieldRequeued  = "requeued"
	FieldGrace     = "grace"

	FieldSupersededBy = "superseded_by"
)

type loggerKey struct{}

// withLogger returns ctx carrying log, for work that outlives the request
// it came from but must keep its fields (the delivery id above all).
func withLogger(ctx context.Context, log logrus.FieldLogger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// logFrom returns the logger ctx carries, or fallback.
func logFrom(ctx context.Context, fallback logrus.FieldLogger) logrus.FieldLogger {
	if l, ok := ctx.Value(loggerKey{}).(logrus.FieldLogger); ok {
		return l
	}
	return fallback
}

func (b *Bot) logger(ctx context.Context) logrus.FieldLogger { return logFrom(ctx, b.log) }
