// Package procfilter decides which processes a receiver reports.
package procfilter

import (
	"regexp"
	"slices"
	"strings"
)

// Criteria select processes. Within a list any entry matches; across lists
// every non-empty list must match.
type Criteria struct {
	Executables []string // regular expressions on the executable name
	UIDs        []uint32
	Cgroups     []string // cgroup path prefixes
}

// Process is what a filter looks at.
type Process struct {
	ExecutableName string
	UID            uint32
	CgroupPath     string
}

type matcher struct {
	exes    []*regexp.Regexp
	uids    []uint32
	cgroups []string
}

func (m matcher) empty() bool { return len(m.exes) == 0 && len(m.uids) == 0 && len(m.cgroups) == 0 }

// matchAll is true when every non-empty list has a match.
func (m matcher) matchAll(p Process) bool {
	return (len(m.exes) == 0 || anyRegexp(m.exes, p.ExecutableName)) &&
		(len(m.uids) == 0 || slices.Contains(m.uids, p.UID)) &&
		(len(m.cgroups) == 0 || anyPrefix(m.cgroups, p.CgroupPath))
}

// matchAny is true when some list has a match.
func (m matcher) matchAny(p Process) bool {
	return anyRegexp(m.exes, p.ExecutableName) ||
		slices.Contains(m.uids, p.UID) ||
		anyPrefix(m.cgroups, p.CgroupPath)
}

// Filter keeps processes that match Include and do not match Exclude.
type Filter struct {
	include, exclude matcher
}

// New compiles the criteria; regular expressions must already be valid
// (the receiver's config validation checks them).
func New(include, exclude Criteria) (*Filter, error) {
	in, err := compile(include)
	if err != nil {
		return nil, err
	}
	ex, err := compile(exclude)
	if err != nil {
		return nil, err
	}
	return &Filter{include: in, exclude: ex}, nil
}

// Keep reports whether p passes the filter. A nil filter keeps everything.
func (f *Filter) Keep(p Process) bool {
	if f == nil {
		return true
	}
	if !f.include.empty() && !f.include.matchAll(p) {
		return false
	}
	return !f.exclude.matchAny(p)
}

func compile(c Criteria) (matcher, error) {
	m := matcher{uids: c.UIDs, cgroups: c.Cgroups}
	for _, s := range c.Executables {
		re, err := regexp.Compile(s)
		if err != nil {
			return matcher{}, err
		}
		m.exes = append(m.exes, re)
	}
	return m, nil
}

func anyRegexp(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func anyPrefix(prefixes []string, path string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}
