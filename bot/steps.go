package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/text"
)

// stepTracker records in the store the step a building run is at, so
// the queue page shows it after a reload, from whichever replica serves
// it. It hears the run's own progress (ci.Request.Progress), never its
// output: a build cannot print its way into what the page says it does.
// ci serializes the calls.
type stepTracker struct {
	ctx   context.Context
	st    Runs
	id    int64
	now   func() time.Time
	log   logrus.FieldLogger
	going []goingStep // started and not ended, oldest first
	shown string
}

type goingStep struct {
	key, label string
	at         time.Time
}

// maxStepLabel bounds what is stored of a step: a command can be long.
const maxStepLabel = 200

func (t *stepTracker) event(e ci.Event) {
	var label string
	switch e.Kind {
	case ci.EventFetch, ci.EventCheckout:
		label = e.Kind + " " + e.Sibling
	case ci.EventStep:
		who := e.Sibling
		if who == "" {
			who = "workspace"
		}
		label = e.Name + " " + who + ": " + e.Command
	default:
		return
	}
	key := e.Kind + "\x00" + e.Name + "\x00" + e.Sibling
	if e.Done {
		for i, g := range t.going {
			if g.key == key {
				t.going = append(t.going[:i], t.going[i+1:]...)
				break
			}
		}
	} else {
		t.going = append(t.going, goingStep{key: key, label: text.Truncate(label, maxStepLabel), at: t.now()})
	}
	// Between two steps nothing is going: the last one shown stays until
	// the next starts.
	n := len(t.going)
	if n == 0 {
		return
	}
	cur := t.going[n-1]
	shown := cur.label
	if n > 1 {
		shown += fmt.Sprintf(" (and %d more at once)", n-1)
	}
	if shown == t.shown {
		return
	}
	t.shown = shown
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	if err := t.st.SetRunStep(ctx, t.id, shown, cur.at); err != nil {
		t.log.WithError(err).Debug("recording the run's step failed")
	}
}
