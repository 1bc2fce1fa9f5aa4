package workspace

import (
	"fmt"
	"sort"
	"strings"
)

// CycleError reports a dependency cycle, in order, first name repeated last.
type CycleError struct {
	Cycle []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Cycle, " -> ")
}

// Order returns the siblings in build order: topological over depends_on,
// ties broken by layer, then name.
func (c *Config) Order() ([]*Sibling, error) {
	indeg := map[string]int{}
	dependents := map[string][]string{}
	for i := range c.Siblings {
		s := &c.Siblings[i]
		indeg[s.Name] += 0
		for _, d := range uniq(s.DependsOn) {
			if c.Sibling(d) == nil {
				return nil, fmt.Errorf("%s depends on unknown sibling %q", s.Name, d)
			}
			indeg[s.Name]++
			dependents[d] = append(dependents[d], s.Name)
		}
	}
	less := func(a, b string) bool {
		ra, rb := c.layerRank(c.Sibling(a).Layer), c.layerRank(c.Sibling(b).Layer)
		if ra != rb {
			return ra < rb
		}
		return a < b
	}
	var ready []string
	for name, n := range indeg {
		if n == 0 {
			ready = append(ready, name)
		}
	}
	var order []*Sibling
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return less(ready[i], ready[j]) })
		name := ready[0]
		ready = ready[1:]
		order = append(order, c.Sibling(name))
		for _, d := range dependents[name] {
			indeg[d]--
			if indeg[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	if len(order) < len(c.Siblings) {
		return nil, &CycleError{Cycle: c.findCycle(indeg)}
	}
	return order, nil
}

// Stages groups the build order into stages whose siblings depend only on
// earlier stages, so each stage's setup can run in parallel.
func (c *Config) Stages() ([][]*Sibling, error) {
	order, err := c.Order()
	if err != nil {
		return nil, err
	}
	depth := map[string]int{}
	var stages [][]*Sibling
	for _, s := range order {
		d := 0
		for _, dep := range s.DependsOn {
			if depth[dep]+1 > d {
				d = depth[dep] + 1
			}
		}
		depth[s.Name] = d
		for len(stages) <= d {
			stages = append(stages, nil)
		}
		stages[d] = append(stages[d], s)
	}
	return stages, nil
}

// findCycle walks the siblings left over by the topological sort (all on or
// behind a cycle) and returns one cycle, sorted to start at its least name.
func (c *Config) findCycle(indeg map[string]int) []string {
	var start string
	for name, n := range indeg {
		if n > 0 && (start == "" || name < start) {
			start = name
		}
	}
	seen := map[string]int{}
	var path []string
	cur := start
	for {
		if at, ok := seen[cur]; ok {
			cyc := path[at:]
			min := 0
			for i := range cyc {
				if cyc[i] < cyc[min] {
					min = i
				}
			}
			out := append(append([]string{}, cyc[min:]...), cyc[:min]...)
			return append(out, out[0])
		}
		seen[cur] = len(path)
		path = append(path, cur)
		var next string
		for _, d := range c.Sibling(cur).DependsOn {
			if indeg[d] > 0 && (next == "" || d < next) {
				next = d
			}
		}
		cur = next
	}
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
