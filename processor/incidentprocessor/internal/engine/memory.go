package engine

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// HostMemory keeps each host's total and available memory, as the
// system.memory.limit and system.linux.memory.available metrics last said.
// The processor reads nothing from the host it runs on: the host measured
// is the one the telemetry names. It is not safe for concurrent use.
type HostMemory struct {
	hosts map[string]*hostMemory
}

type hostMemory struct {
	total, avail     float64
	totalAt, availAt time.Time     // when each was last received
	gap              time.Duration // between the last two receipts of available
}

// maxHosts bounds the map; beyond it, hosts not heard from are forgotten.
const maxHosts = 4096

// NewHostMemory returns an empty HostMemory.
func NewHostMemory() *HostMemory { return &HostMemory{hosts: map[string]*hostMemory{}} }

// ObserveMetrics notes the host memory metrics in md.
func (h *HostMemory) ObserveMetrics(md pmetric.Metrics, now time.Time) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		h.observe(md.ResourceMetrics().At(i), now)
	}
}

// observe notes the host memory metrics of one resource, keyed by its
// host.name.
func (h *HostMemory) observe(rm pmetric.ResourceMetrics, now time.Time) {
	for j := 0; j < rm.ScopeMetrics().Len(); j++ {
		ms := rm.ScopeMetrics().At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			name := m.Name()
			if name != contract.MetricMemoryLimit && name != contract.MetricMemoryAvailable {
				continue
			}
			dps := pdatautil.NumberPoints(m)
			if dps.Len() == 0 {
				continue
			}
			var v float64
			for d := 0; d < dps.Len(); d++ {
				v += pdatautil.PointValue(dps.At(d))
			}
			hm := h.host(pdatautil.Str(rm.Resource().Attributes(), contract.HostName), now)
			if name == contract.MetricMemoryLimit {
				hm.total, hm.totalAt = v, now
			} else {
				if !hm.availAt.IsZero() {
					hm.gap = now.Sub(hm.availAt)
				}
				hm.avail, hm.availAt = v, now
			}
		}
	}
}

func (h *HostMemory) host(name string, now time.Time) *hostMemory {
	hm := h.hosts[name]
	if hm == nil {
		if len(h.hosts) >= maxHosts {
			// Forget the hosts not heard from for the longest; at least
			// one goes, so the map stays bounded however many hosts send.
			var oldest string
			for k, v := range h.hosts {
				if now.Sub(v.availAt) > time.Hour {
					delete(h.hosts, k)
				} else if oldest == "" || v.availAt.Before(h.hosts[oldest].availAt) {
					oldest = k
				}
			}
			if len(h.hosts) >= maxHosts {
				delete(h.hosts, oldest)
			}
		}
		hm = &hostMemory{}
		h.hosts[name] = hm
	}
	return hm
}

// Get returns the host's total and available memory in bytes; ok is false
// unless both were received within staleAfter of now (or three of the
// source's own intervals, when they are longer).
func (h *HostMemory) Get(host string, now time.Time, staleAfter time.Duration) (total, avail float64, ok bool) {
	hm := h.hosts[host]
	if hm != nil {
		staleAfter = max(staleAfter, 3*hm.gap)
	}
	if hm == nil || hm.total <= 0 || now.Sub(hm.totalAt) > staleAfter || now.Sub(hm.availAt) > staleAfter {
		return 0, 0, false
	}
	return hm.total, hm.avail, true
}
