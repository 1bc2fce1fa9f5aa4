package lifecycle

// Run is what a decision knows of one run of a changeset.
type Run struct {
	ID int64
	// Heads names the exact heads the run builds (a hash of the pinned
	// SHAs): two runs with the same Heads build the same code.
	Heads string
	State State
	Ended Result
}

// Trigger is an event asking for a run of a changeset at Heads. Force
// builds heads that were tested already (a command, a re-run).
type Trigger struct {
	Heads string
	Force bool
}

// Kind is what a decision does.
type Kind string

// The kinds of decision.
const (
	// Skip queues nothing: Run tested these heads already, or tests them
	// now.
	Skip Kind = "skip"
	// Enqueue queues a new run of the heads.
	Enqueue Kind = "enqueue"
	// Coalesce gives the heads to Run, the changeset's queued run, which
	// then waits for more events a little longer.
	Coalesce Kind = "coalesce"
	// Supersede cancels Run: it builds heads nobody needs now. The run
	// that replaces it is the one enqueued or coalesced into, or the
	// one skipped to.
	Supersede Kind = "supersede"
)

// Decision is one thing to do about a trigger.
type Decision struct {
	Kind Kind
	Run  int64 // the run it concerns; 0 for Enqueue
}

// Decide is what a trigger does to a changeset's runs: live are its
// queued and running runs, last its newest run (live or not, nil for
// none). It decides from these alone, so the store commits what it
// decides in the same transaction that read them: the same heads are
// never cancelled and built again, however events interleave.
//
// The decisions come in order: first Skip, Enqueue or Coalesce, then the
// runs it supersedes.
func Decide(live []Run, last *Run, t Trigger) []Decision {
	var tested *Run
	for i, r := range live {
		if r.State == Building && r.Heads == t.Heads {
			tested = &live[i]
		}
	}
	if tested == nil && !t.Force && last != nil && last.Heads == t.Heads && last.State == Done &&
		(last.Ended == Success || last.Ended == Failure) {
		tested = last
	}
	if tested != nil {
		// A queued run of other heads is moot once these heads are
		// tested or being tested.
		out := []Decision{{Kind: Skip, Run: tested.ID}}
		for _, r := range live {
			if r.State == Queued {
				out = append(out, Decision{Kind: Supersede, Run: r.ID})
			}
		}
		return out
	}
	first := Decision{Kind: Enqueue}
	for _, r := range live {
		if r.State == Queued {
			first = Decision{Kind: Coalesce, Run: r.ID}
		}
	}
	out := []Decision{first}
	for _, r := range live {
		if r.State == Building && r.Heads != t.Heads {
			out = append(out, Decision{Kind: Supersede, Run: r.ID})
		}
	}
	return out
}
