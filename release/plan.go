package release

import (
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/workspace"
)

// Plan is what a release does to each sibling, in build order.
type Plan struct {
	Workspace string `json:"workspace"`
	// Date heads the new CHANGELOG sections (YYYY-MM-DD).
	Date    string   `json:"date"`
	Entries []*Entry `json:"siblings"`
}

// Entry is one sibling's part of a plan. A sibling that only holds
// fragments naming others is in the plan with Bump None: its branch
// removes them.
type Entry struct {
	Sibling string `json:"name"`
	Package string `json:"package"`
	Repo    string `json:"repo"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Bump    Bump   `json:"bump"`
	// Why explains the bump: "minor: .changeset/brave-fox.md",
	// "patch: provide-foundation 0.5.0 is outside >=0.4.0,<0.5",
	// "feat: commits since v0.4.0".
	Why []string `json:"why"`
	// Fragments are the fragment files this sibling's branch removes.
	Fragments []string `json:"fragments,omitempty"`
	// Ranges are the dependency ranges rewritten in its pyproject.toml.
	Ranges []RangeChange `json:"ranges,omitempty"`
	// Notes are the lines of its CHANGELOG section.
	Notes []string `json:"notes,omitempty"`

	state *State
	next  Version
}

// RangeChange is one rewritten dependency range.
type RangeChange struct {
	Dependency string `json:"dependency"`
	From       string `json:"from"`
	To         string `json:"to"`

	at depString
}

// Released says whether the sibling gets a new version.
func (e *Entry) Released() bool { return e.Bump != None }

// Entry returns the sibling's entry, or nil.
func (p *Plan) Entry(sibling string) *Entry {
	for _, e := range p.Entries {
		if e.Sibling == sibling {
			return e
		}
	}
	return nil
}

// NewPlan decides every sibling's release from the states read from
// their repositories (keyed by sibling name): the bumps fragments and
// commits ask for, fixed groups, and dependents whose ranges exclude a new
// version, iterated in build order until nothing changes.
func NewPlan(cfg *workspace.Config, states map[string]*State, date string) (*Plan, error) {
	order, err := cfg.Order()
	if err != nil {
		return nil, inputErrorf("%s: %v", cfg.File, err)
	}
	var sibs []*State
	byPackage := map[string]*State{}
	for _, s := range order {
		st := states[s.Name]
		if st == nil {
			return nil, fmt.Errorf("release: no state read for sibling %s", s.Name)
		}
		sibs = append(sibs, st)
		byPackage[normalize(s.Name)] = st
	}
	for _, st := range sibs {
		byPackage[normalize(st.Package)] = st
	}

	bump := map[string]Bump{}
	why := map[string][]string{}
	notes := map[string][]string{}
	consumed := map[string][]string{}
	fromFragments := map[string]bool{}
	type reason struct {
		b    Bump
		text string
	}
	fragWhy := map[string][]reason{}
	for _, st := range sibs {
		for _, f := range st.Fragments {
			consumed[st.Sibling] = append(consumed[st.Sibling], f.Path)
			var names []string
			for name := range f.Bumps {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				target := byPackage[normalize(name)]
				if target == nil {
					return nil, inputErrorf("%s: %s names %q, which is not a sibling's name or package (fix: use one of %s)",
						st.Sibling, f.Path, name, knownPackages(sibs))
				}
				b := f.Bumps[name]
				where := f.Path
				if target != st {
					where = st.Sibling + "/" + f.Path
				}
				fromFragments[target.Sibling] = true
				bump[target.Sibling] = max(bump[target.Sibling], b)
				fragWhy[target.Sibling] = append(fragWhy[target.Sibling], reason{b, b.String() + ": " + where})
				if f.Summary != "" {
					notes[target.Sibling] = append(notes[target.Sibling], f.Summary)
				}
			}
		}
	}
	for _, st := range sibs {
		rs := fragWhy[st.Sibling]
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].b > rs[j].b })
		for _, r := range rs {
			why[st.Sibling] = append(why[st.Sibling], r.text)
		}
		if fromFragments[st.Sibling] {
			continue
		}
		// No fragment names it: conventional commits since the last tag.
		var top Commit
		for i := len(st.Commits) - 1; i >= 0; i-- {
			c := st.Commits[i]
			if c.Bump() == None {
				continue
			}
			if c.Bump() > top.Bump() {
				top = c
			}
			notes[st.Sibling] = append(notes[st.Sibling], c.Subject)
		}
		if top.Bump() != None {
			bump[st.Sibling] = top.Bump()
			kind := top.Type
			if top.Breaking {
				kind = "breaking"
			}
			since := "commits since " + st.LastTag
			if st.LastTag == "" {
				since = "commits (no release tag yet)"
			}
			why[st.Sibling] = append(why[st.Sibling], kind+": "+since)
		}
	}

	// Fixed groups and range cascades only raise bumps, so this ends.
	fixedBy := map[string]string{}
	ranges := map[string][]RangeChange{}
	for changed := true; changed; {
		changed = false
		for _, group := range cfg.Workspace.Release.Fixed {
			top, by := None, ""
			for _, name := range group {
				if bump[name] > top {
					top, by = bump[name], name
				}
			}
			for _, name := range group {
				if bump[name] < top {
					bump[name], fixedBy[name], changed = top, by, true
				}
			}
		}
		for _, st := range sibs {
			rs, err := rangeChanges(st, byPackage, bump)
			if err != nil {
				return nil, err
			}
			ranges[st.Sibling] = rs
			if len(rs) > 0 && bump[st.Sibling] < Patch {
				bump[st.Sibling], changed = Patch, true
			}
		}
	}

	plan := &Plan{Workspace: cfg.Workspace.Name, Date: date}
	for _, s := range order {
		st := states[s.Name]
		b := bump[s.Name]
		if b == None && len(consumed[s.Name]) == 0 {
			continue
		}
		if b != None && st.VersionFile == "" {
			return nil, inputErrorf("sibling %s needs a %s release (%s) but has no version (fix: add a %s file or [project] version to %s)",
				s.Name, b, strings.Join(append(why[s.Name], cascadeWhy(ranges[s.Name], byPackage, bump)...), "; "), VersionFile, PyprojectFile)
		}
		e := &Entry{Sibling: s.Name, Package: st.Package, Repo: cfg.FullName(s), Bump: b,
			Old: st.Version.String(), Why: why[s.Name], Fragments: consumed[s.Name],
			Ranges: ranges[s.Name], Notes: notes[s.Name], state: st}
		if st.VersionFile == "" {
			e.Old = ""
		}
		e.next = st.Version.Bump(b)
		e.New = e.Old
		if b != None {
			e.New = e.next.String()
		}
		e.Why = append(e.Why, cascadeWhy(e.Ranges, byPackage, bump)...)
		for _, rc := range e.Ranges {
			e.Notes = append(e.Notes, fmt.Sprintf("Requires %s %s (was %s).", rc.Dependency, rc.To, rc.From))
		}
		if by := fixedBy[s.Name]; by != "" {
			e.Why = append(e.Why, fmt.Sprintf("%s: fixed group with %s", b, by))
			e.Notes = append(e.Notes, fmt.Sprintf("Released together with %s (fixed group).", by))
		}
		if b == None {
			e.Why = append(e.Why, "no release: removes consumed fragments")
		}
		plan.Entries = append(plan.Entries, e)
	}
	return plan, nil
}

// rangeChanges lists st's internal dependency ranges that exclude the new
// version of the sibling they name.
func rangeChanges(st *State, byPackage map[string]*State, bump map[string]Bump) ([]RangeChange, error) {
	if st.py == nil {
		return nil, nil
	}
	var out []RangeChange
	for _, d := range st.py.deps {
		dep := byPackage[d.req.name]
		if dep == nil || dep == st || bump[dep.Sibling] == None || dep.VersionFile == "" {
			continue
		}
		next := dep.Version.Bump(bump[dep.Sibling])
		text, changed, err := d.req.rewrite(next, dep.Version, bump[dep.Sibling])
		if err != nil {
			return nil, inputErrorf("%s: %s: dependency %q: %v", st.Sibling, PyprojectFile, d.req.text, err)
		}
		if changed {
			nr, _ := parseRequirement(text)
			out = append(out, RangeChange{Dependency: dep.Package, From: d.req.specifier(), To: nr.specifier(), at: depString{req: requirement{text: text}, at: d.at}})
		}
	}
	return out, nil
}

func cascadeWhy(rs []RangeChange, byPackage map[string]*State, bump map[string]Bump) []string {
	var out []string
	for _, rc := range rs {
		dep := byPackage[normalize(rc.Dependency)]
		out = append(out, fmt.Sprintf("patch: %s %s is outside %s", rc.Dependency, dep.Version.Bump(bump[dep.Sibling]), rc.From))
	}
	return out
}

func knownPackages(sibs []*State) string {
	var names []string
	for _, st := range sibs {
		names = append(names, st.Sibling)
		if st.Package != st.Sibling {
			names = append(names, st.Package)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
