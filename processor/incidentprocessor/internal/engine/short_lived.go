package engine

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// shortLivedKind is a rate of exits of processes that lived less than
// max_lifetime: a crash loop, or a job started far too often.
type shortLivedKind struct{}

func (shortLivedKind) newChecker(r *rules.Rule) checker { return &shortLived{rate{r: r}} }

// accept counts an exit only when its lifetime is known and short.
func (shortLivedKind) accept(r *rules.Rule, attrs pcommon.Map) bool {
	life, ok := attrs.Get(contract.ProcessLifetime)
	return ok && life.Double() < r.MaxLifetime.Seconds()
}

// shortLived shares rate's bucket counter and adds max_lifetime to the
// evidence.
type shortLived struct{ rate }

func (c *shortLived) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	confidence := c.rate.describe(env, f, ev)
	ev["max_lifetime_seconds"] = c.r.MaxLifetime.Seconds()
	return confidence
}
