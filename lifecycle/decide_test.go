package lifecycle

import (
	"reflect"
	"testing"
)

// Every row of the trigger decision, with no I/O.
func TestDecide(t *testing.T) {
	queued := func(id int64, heads string) Run { return Run{ID: id, Heads: heads, State: Queued} }
	building := func(id int64, heads string) Run { return Run{ID: id, Heads: heads, State: Building} }
	ended := func(id int64, heads string, r Result) *Run { return &Run{ID: id, Heads: heads, State: Done, Ended: r} }
	for _, tc := range []struct {
		name string
		live []Run
		last *Run
		t    Trigger
		want []Decision
	}{
		{"first run", nil, nil, Trigger{Heads: "h1"},
			[]Decision{{Kind: Enqueue}}},
		{"same heads passed: skip", nil, ended(1, "h1", Success), Trigger{Heads: "h1"},
			[]Decision{{Kind: Skip, Run: 1}}},
		{"same heads failed: skip", nil, ended(1, "h1", Failure), Trigger{Heads: "h1"},
			[]Decision{{Kind: Skip, Run: 1}}},
		{"same heads passed, forced: build again", nil, ended(1, "h1", Success), Trigger{Heads: "h1", Force: true},
			[]Decision{{Kind: Enqueue}}},
		{"same heads errored: build again", nil, ended(1, "h1", Error), Trigger{Heads: "h1"},
			[]Decision{{Kind: Enqueue}}},
		{"same heads cancelled: build again", nil, ended(1, "h1", Cancelled), Trigger{Heads: "h1"},
			[]Decision{{Kind: Enqueue}}},
		{"other heads passed: build", nil, ended(1, "h0", Success), Trigger{Heads: "h1"},
			[]Decision{{Kind: Enqueue}}},
		{"same heads building: skip, even forced", []Run{building(2, "h1")}, building(2, "h1").ptr(), Trigger{Heads: "h1", Force: true},
			[]Decision{{Kind: Skip, Run: 2}}},
		{"same heads building, other heads queued: the queued is moot", []Run{building(2, "h1"), queued(3, "h2")}, queued(3, "h2").ptr(), Trigger{Heads: "h1"},
			[]Decision{{Kind: Skip, Run: 2}, {Kind: Supersede, Run: 3}, {Kind: Retire, Run: 3}}},
		{"queued run: coalesce, retire the heads it no longer builds", []Run{queued(3, "h0")}, queued(3, "h0").ptr(), Trigger{Heads: "h1"},
			[]Decision{{Kind: Coalesce, Run: 3}, {Kind: Retire, Run: 3}}},
		{"other heads building: supersede it", []Run{building(2, "h0")}, building(2, "h0").ptr(), Trigger{Heads: "h1"},
			[]Decision{{Kind: Enqueue}, {Kind: Supersede, Run: 2}, {Kind: Retire, Run: 2}}},
		{"other heads building and queued: coalesce, supersede the building", []Run{building(2, "h0"), queued(3, "h2")}, queued(3, "h2").ptr(), Trigger{Heads: "h1"},
			[]Decision{{Kind: Coalesce, Run: 3}, {Kind: Retire, Run: 3}, {Kind: Supersede, Run: 2}, {Kind: Retire, Run: 2}}},
		{"queued run of the same heads: coalesce (it is not tested yet)", []Run{queued(3, "h1")}, queued(3, "h1").ptr(), Trigger{Heads: "h1"},
			[]Decision{{Kind: Coalesce, Run: 3}}},
	} {
		if got := Decide(tc.live, tc.last, tc.t); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func (r Run) ptr() *Run { return &r }

// Every row of the cancel and start decisions.
func TestDecideCancelAndStart(t *testing.T) {
	live := []Run{
		{ID: 1, State: Building, Members: []string{"o/a#1", "o/b#2"}},
		{ID: 2, State: Queued, Members: []string{"o/a#1"}},
		{ID: 3, State: Done, Ended: Success, Members: []string{"o/b#2"}},
		{ID: 4, State: Queued, Members: []string{"o/c#3"}},
	}
	for _, tc := range []struct {
		name string
		c    Cancel
		want []Decision
	}{
		{"a command stops every live run given", Cancel{}, []Decision{{Kind: Stop, Run: 1}, {Kind: Stop, Run: 2}, {Kind: Stop, Run: 4}}},
		{"a closed member stops the live runs that build it", Cancel{Member: "o/b#2"}, []Decision{{Kind: Stop, Run: 1}}},
		{"repository names match in any case", Cancel{Member: "O/B#2"}, []Decision{{Kind: Stop, Run: 1}}},
		{"a closed PR no run builds stops nothing", Cancel{Member: "o/d#9"}, nil},
	} {
		if got := DecideCancel(live, tc.c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if d := DecideStart(live[1], false); d != (Decision{Kind: Wait, Run: 2}) {
		t.Errorf("unapproved: %+v", d)
	}
	if d := DecideStart(live[1], true); d != (Decision{Kind: Build, Run: 2}) {
		t.Errorf("approved: %+v", d)
	}
}
