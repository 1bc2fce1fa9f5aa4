// Package logging owns the field keys every log line spells the same way,
// and the logger a context carries: work that outlives the request it came
// from (a delivery handled by a worker, a run, each GitHub call made for
// them) keeps the fields that say what it is for, the delivery and run ids
// above all.
package logging

import (
	"bytes"
	"context"

	"github.com/sirupsen/logrus"
)

// Field keys.
const (
	Delivery     = "delivery"
	Event        = "event"
	Action       = "action"
	PR           = "pr"
	Changeset    = "changeset"
	Run          = "run"
	State        = "state"
	Status       = "status"
	User         = "user"
	Command      = "command"
	Duration     = "duration_ms"
	Worker       = "worker"
	SHA          = "sha"
	Untrusted    = "untrusted"
	Coalesced    = "coalesced"
	Stack        = "stack"
	Requeued     = "requeued"
	Grace        = "grace"
	SupersededBy = "superseded_by"
	Bytes        = "bytes"
	Component    = "component"
	Addr         = "addr"
	PublicURL    = "public_url"
	App          = "app"
	Workers      = "workers"
	Deliveries   = "deliveries"
	Runs         = "runs"
	MemoryLimit  = "memory_limit_bytes"
	InFlight     = "max_in_flight_bytes"
	Report       = "report"
	Attempts     = "attempts"
	Pending      = "pending"
	Memory       = "memory_bytes"
	Pids         = "pids"
	WorkflowRun  = "workflow_run"
)

type key struct{}

// With returns ctx carrying log.
func With(ctx context.Context, log logrus.FieldLogger) context.Context {
	return context.WithValue(ctx, key{}, log)
}

// From returns the logger ctx carries, or fallback (which may be nil).
func From(ctx context.Context, fallback logrus.FieldLogger) logrus.FieldLogger {
	if l, ok := ctx.Value(key{}).(logrus.FieldLogger); ok {
		return l
	}
	return fallback
}

// Censor is a formatter that replaces known secret values in every line
// it formats; values shorter than four characters are left alone, since
// replacing them would garble every line.
type Censor struct {
	Inner   logrus.Formatter
	Secrets []string
}

// Format implements logrus.Formatter.
func (c *Censor) Format(e *logrus.Entry) ([]byte, error) {
	out, err := c.Inner.Format(e)
	for _, s := range c.Secrets {
		if len(s) >= 4 {
			out = bytes.ReplaceAll(out, []byte(s), []byte("[redacted]"))
		}
	}
	return out, err
}
