package workspace

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Uses are what the siblings' packages say they need of each other.
type Uses struct {
	// Of are, by sibling name, the siblings whose distributions its
	// pyproject.toml depends on.
	Of map[string][]Use
	// Unread are the siblings whose pyproject.toml could not be read,
	// and why: they may need any sibling.
	Unread map[string]error
}

// Use is one sibling a package depends on, and where it says so.
type Use struct {
	Sibling string
	File    string
	Line    int
}

// PackageUses reads the pyproject.toml of each sibling in dirs (checkout
// directories by sibling name) and matches every dependency against the
// other siblings: by the distribution name their own pyproject.toml
// gives, or else by the sibling's name. A file that cannot be read is a
// warning, and that sibling then declares nothing.
func (c *Config) PackageUses(dirs map[string]string) Uses {
	pkgs, unread := c.readPackages(dirs)
	return Uses{Of: c.uses(pkgs), Unread: unread}
}

// readPackages reads the pyproject.toml of every sibling in dirs that has
// one.
func (c *Config) readPackages(dirs map[string]string) (map[string]*Package, map[string]error) {
	pkgs := map[string]*Package{}
	unread := map[string]error{}
	for _, s := range c.Siblings {
		dir, ok := dirs[s.Name]
		if !ok {
			continue
		}
		pkg, err := ReadPackage(dir)
		if err != nil {
			unread[s.Name] = err
			continue
		}
		if pkg != nil {
			pkgs[s.Name] = pkg
		}
	}
	return pkgs, unread
}

func (c *Config) uses(pkgs map[string]*Package) map[string][]Use {
	byDist := map[string]string{}
	for _, s := range c.Siblings {
		if p := pkgs[s.Name]; p != nil && p.Name != "" {
			byDist[p.Name] = s.Name
		}
	}
	for _, s := range c.Siblings {
		if _, taken := byDist[NormalizeName(s.Name)]; !taken {
			byDist[NormalizeName(s.Name)] = s.Name
		}
	}
	uses := map[string][]Use{}
	for _, s := range c.Siblings {
		p := pkgs[s.Name]
		if p == nil {
			continue
		}
		seen := map[string]bool{}
		for _, n := range p.Needs {
			if dep, ok := byDist[n.Name]; ok && dep != s.Name && !seen[dep] {
				seen[dep] = true
				uses[s.Name] = append(uses[s.Name], Use{Sibling: dep, File: p.File, Line: n.Line})
			}
		}
	}
	return uses
}

// NotAffected is why a sibling's tests did not run in a run of a
// changeset that does not reach it.
const NotAffected = "not affected: depends on no member"

// Affected says which siblings a changeset of members (sibling names, or
// the workspace's own name for its repository) affects, and why: each
// member, and each sibling that depends on a member, directly or through
// other siblings, by depends_on or by its package's dependencies (uses).
// A change to the workspace repository (its wrknv.toml, its tests)
// affects every sibling. A sibling not in the result is not affected.
func (c *Config) Affected(members []string, uses Uses) map[string]string {
	out := map[string]string{}
	for _, m := range members {
		if m == c.Workspace.Name {
			for _, s := range c.Siblings {
				out[s.Name] = "the workspace repository changed"
			}
			return out
		}
	}
	// dependents[d] are the siblings that depend on d.
	dependents := map[string][]string{}
	for _, s := range c.Siblings {
		deps := append([]string(nil), s.DependsOn...)
		for _, u := range uses.Of[s.Name] {
			deps = append(deps, u.Sibling)
		}
		for _, d := range deps {
			dependents[d] = append(dependents[d], s.Name)
		}
	}
	// A breadth-first walk from the members: each sibling is reached by
	// the shortest chain, which is the reason given for it.
	via := map[string]string{}
	root := map[string]string{}
	var queue []string
	// In name order, so that a sibling two members reach is always
	// explained by the same one.
	members = append([]string(nil), members...)
	sort.Strings(members)
	for _, m := range members {
		if c.Sibling(m) == nil || root[m] != "" {
			continue
		}
		root[m] = m
		out[m] = "changed in this changeset"
		queue = append(queue, m)
	}
	// A sibling whose package could not be read may need any member.
	if len(queue) > 0 {
		for _, s := range c.Siblings {
			if _, ok := uses.Unread[s.Name]; ok && root[s.Name] == "" {
				root[s.Name] = s.Name
				out[s.Name] = "may depend on a member: its pyproject.toml could not be read"
				queue = append(queue, s.Name)
			}
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		next := dependents[cur]
		sort.Strings(next)
		for _, s := range next {
			if root[s] != "" {
				continue
			}
			root[s], via[s] = root[cur], cur
			queue = append(queue, s)
			if cur == root[cur] {
				out[s] = "depends on " + cur
				continue
			}
			var chain []string
			for p := cur; p != root[cur]; p = via[p] {
				chain = append(chain, p)
			}
			out[s] = fmt.Sprintf("depends on %s through %s", root[cur], strings.Join(chain, ", "))
		}
	}
	return out
}

// GraphWarnings compares depends_on with what the packages declare: a
// package that depends on a sibling depends_on does not list, and a
// depends_on entry whose package the sibling's pyproject.toml does not
// use. Only siblings whose pyproject.toml was read (uses, pkgs) are
// judged, so a sibling that is not a Python package is never warned of.
func (c *Config) GraphWarnings(dirs map[string]string) []Warning {
	pkgs, unread := c.readPackages(dirs)
	var warnings []Warning
	for _, s := range c.Siblings {
		if err, ok := unread[s.Name]; ok {
			warnings = append(warnings, Warning{File: filepath.Join(dirs[s.Name], "pyproject.toml"), Message: err.Error()})
		}
	}
	uses := c.uses(pkgs)
	for i := range c.Siblings {
		s := &c.Siblings[i]
		listed := map[string]bool{}
		for _, d := range s.DependsOn {
			listed[d] = true
		}
		used := map[string]bool{}
		for _, u := range uses[s.Name] {
			used[u.Sibling] = true
			if !listed[u.Sibling] {
				warnings = append(warnings, Warning{File: u.File, Line: u.Line,
					Message: fmt.Sprintf("%s depends on sibling %s, which siblings[%s].depends_on in %s does not list", s.Name, u.Sibling, s.Name, c.fileName()),
					Fix:     fmt.Sprintf("add %q to depends_on of sibling %s, so that it is built first and a change to %s tests %s", u.Sibling, s.Name, u.Sibling, s.Name)})
			}
		}
		own := pkgs[s.Name]
		if own == nil {
			continue
		}
		for j, d := range s.DependsOn {
			if used[d] || pkgs[d] == nil || pkgs[d].Name == "" {
				continue
			}
			line := 0
			if j < len(s.dependsOnLines) {
				line = s.dependsOnLines[j]
			}
			warnings = append(warnings, Warning{File: c.fileName(), Line: line, Key: "siblings[" + s.Name + "].depends_on",
				Message: fmt.Sprintf("lists %s, but %s does not depend on its package %s", d, own.File, pkgs[d].Name),
				Fix:     fmt.Sprintf("remove %s from depends_on, or add %s to [project].dependencies in %s", d, pkgs[d].Name, own.File)})
		}
	}
	return warnings
}
