package ebpfprocessreceiver

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
	"github.com/linnix-os/otelcol-linnix/internal/sharedcomponent"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
)

// requireKernel skips without the privilege to load BPF (never in CI) and
// keeps host-wide kernel tests of other packages from running meanwhile.
func requireKernel(t testing.TB) {
	t.Helper()
	kerneltest.Require(t)
	kerneltest.Exclusive(t)
}

type running struct {
	sink *consumertest.LogsSink
	tel  *componenttest.Telemetry
	rcv  *ebpfReceiver
}

func startReceiver(t *testing.T, cfg *Config) *running {
	t.Helper()
	requireKernel(t)
	r := &running{sink: new(consumertest.LogsSink), tel: componenttest.NewTelemetry()}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = r.tel.NewTelemetrySettings()
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, r.sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	r.rcv = receiverOf(rcv)
	t.Cleanup(func() {
		require.NoError(t, rcv.Shutdown(context.Background()))
		require.NoError(t, r.tel.Shutdown(context.Background()))
	})
	return r
}

// receiverOf unwraps the shared instance the factory returns.
func receiverOf(c component.Component) *ebpfReceiver {
	return c.(*sharedcomponent.Component[*ebpfReceiver]).Value
}

// record is a flattened log record, easy to assert on.
type record struct {
	event string
	ts    time.Time
	body  string
	attrs map[string]any
}

func (r *running) records() []record {
	var out []record
	for _, ld := range r.sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, flatten(lrs.At(k)))
				}
			}
		}
	}
	return out
}

func flatten(lr plog.LogRecord) record {
	return record{event: lr.EventName(), ts: lr.Timestamp().AsTime(), body: lr.Body().Str(), attrs: lr.Attributes().AsRaw()}
}

// byPID indexes records of the given pids by event name.
func byPID(recs []record, pids map[int]bool) map[int]map[string]record {
	out := map[int]map[string]record{}
	for _, r := range recs {
		pid := int(r.attrs["process.pid"].(int64))
		if !pids[pid] {
			continue
		}
		if out[pid] == nil {
			out[pid] = map[string]record{}
		}
		out[pid][r.event] = r
	}
	return out
}

// losses returns the exported lost counter by reason.
func (r *running) losses(t *testing.T) map[string]int64 {
	return r.counter(t, "otelcol_linnix.receiver.events.lost", "reason")
}

// counter returns an exported counter's values by one attribute's value.
func (r *running) counter(t *testing.T, name, attr string) map[string]int64 {
	t.Helper()
	m, err := r.tel.GetMetric(name)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(attr))
		out[v.AsString()] = dp.Value
	}
	return out
}

// The events counter counts what the receiver read: with no filter, every
// fork and exec read becomes a record, so between batches the counter and
// the records delivered agree, and both include this test's children.
func TestEventsCounterMatchesTheRecords(t *testing.T) {
	run := startReceiver(t, createDefaultConfig().(*Config))
	const children = 20
	pids := map[int]bool{}
	for range children {
		cmd := exec.Command("/bin/true")
		require.NoError(t, cmd.Run())
		pids[cmd.Process.Pid] = true
	}
	var counted map[string]int64
	var delivered map[string]int64
	require.Eventually(t, func() bool {
		counted = run.counter(t, "otelcol_linnix.receiver.events", "type")
		recs := run.records()
		delivered = map[string]int64{}
		mine := 0
		for _, r := range recs {
			delivered[map[string]string{contract.EventFork: "fork", contract.EventExec: "exec", contract.EventExit: "exit"}[r.event]]++
			if r.event == contract.EventExec && pids[int(r.attrs["process.pid"].(int64))] {
				mine++
			}
		}
		return mine == children && counted["fork"] == delivered["fork"] && counted["exec"] == delivered["exec"]
	}, 15*time.Second, 20*time.Millisecond, "the counter and the records to agree")
	assert.GreaterOrEqual(t, counted["exec"], int64(children))
	assert.GreaterOrEqual(t, counted["fork"], int64(children))
}
