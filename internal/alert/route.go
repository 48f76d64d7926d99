package alert

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Route decides which incidents an exporter instance sends: critical ones
// to PagerDuty, everything to Slack, one team's rules to its webhook.
type Route struct {
	// MinSeverity: incidents below it are skipped (info, warning,
	// critical; default info, i.e. all).
	MinSeverity string `mapstructure:"min_severity"`
	// Rules: allow and deny lists of incident.rule names.
	Rules RuleFilter `mapstructure:"rules"`
}

// RuleFilter is an allow list (empty: every rule) and a deny list.
type RuleFilter struct {
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
}

// Check names the field at fault. (Not Validate: the collector would call
// that on the embedded struct and prefix its errors with "route".)
func (r *Route) Check() error {
	var errs []error
	if r.MinSeverity != "" && contract.SeverityRank(r.MinSeverity) < 0 {
		errs = append(errs, fmt.Errorf("min_severity: unknown severity %q (one of %s)",
			r.MinSeverity, strings.Join(contract.Severities, ", ")))
	}
	for _, n := range r.Rules.Include {
		if n == "" {
			errs = append(errs, errors.New("rules::include: empty rule name"))
		}
		if slices.Contains(r.Rules.Exclude, n) {
			errs = append(errs, fmt.Errorf("rules: %q is both included and excluded", n))
		}
	}
	return errors.Join(errs...)
}

// Allows says whether the route sends the incident. A severity this
// project does not know counts as the lowest.
func (r *Route) Allows(a *Alert) bool {
	if r.MinSeverity != "" && max(contract.SeverityRank(a.Severity), 0) < contract.SeverityRank(r.MinSeverity) {
		return false
	}
	if len(r.Rules.Include) > 0 && !slices.Contains(r.Rules.Include, a.Rule) {
		return false
	}
	return !slices.Contains(r.Rules.Exclude, a.Rule)
}
