package incidentprocessor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/memsource"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
)

type incidentProcessor struct {
	cfg         *Config
	set         processor.Settings
	release     func()
	nextLogs    consumer.Logs
	nextMetrics consumer.Metrics

	startOnce, stopOnce sync.Once
	startErr            error

	engine    *engine.Engine
	telemetry *metadata.TelemetryBuilder
	hostName  string
	now       func() time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

func newProcessor(set processor.Settings, cfg *Config, release func()) *incidentProcessor {
	return &incidentProcessor{cfg: cfg, set: set, release: release, now: time.Now}
}

// Start builds the rules once for every pipeline sharing this processor.
func (p *incidentProcessor) Start(_ context.Context, _ component.Host) error {
	p.startOnce.Do(func() { p.startErr = p.start() })
	return p.startErr
}

func (p *incidentProcessor) start() error {
	if p.nextLogs == nil {
		return errors.New("the incident processor emits incidents as logs: put it in a logs pipeline too (the same component ID in a metrics pipeline feeds it metrics)")
	}
	eng, err := p.buildEngine()
	if err != nil {
		return err
	}
	p.engine = eng
	if p.hostName, err = os.Hostname(); err != nil {
		return fmt.Errorf("reading host name: %w", err)
	}
	if p.telemetry, err = metadata.NewTelemetryBuilder(p.set.TelemetrySettings); err != nil {
		return err
	}
	if err := errors.Join(
		p.telemetry.RegisterLinnixIncidentsTrackedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(p.engine.Stats().Tracked))
			return nil
		}),
		p.telemetry.RegisterLinnixIncidentsEvictionsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(p.engine.Stats().Evictions)
			return nil
		}),
	); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.evaluateLoop(ctx)
	return nil
}

func (p *incidentProcessor) buildEngine() (*engine.Engine, error) {
	rs, err := p.cfg.loadRules()
	if err != nil {
		return nil, err
	}
	compiled := make([]*engine.Rule, 0, len(rs))
	for _, r := range rs {
		er := &engine.Rule{Rule: r}
		if r.IsLogRule() {
			er.LogWhere, err = expr.NewLog(r.Where, p.set.TelemetrySettings)
		} else {
			er.DPWhere, err = expr.NewDataPoint(r.Where, p.set.TelemetrySettings)
		}
		if err != nil {
			return nil, fmt.Errorf("rule %q: where: %w", r.Name, err)
		}
		compiled = append(compiled, er)
	}
	return engine.New(compiled, &memsource.System{Root: "/"}, p.cfg.MaxTracked, p.cfg.StaleAfter), nil
}

// evaluateLoop evaluates every rule each evaluation_interval, so that
// windows slide and incidents resolve even when no data arrives.
func (p *incidentProcessor) evaluateLoop(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.cfg.EvaluationInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.evaluate(ctx)
	}
}

func (p *incidentProcessor) evaluate(ctx context.Context) {
	began := time.Now()
	incidents := p.engine.Evaluate(p.now())
	p.telemetry.LinnixIncidentsEvaluationDuration.Record(ctx, time.Since(began).Seconds())
	if len(incidents) == 0 {
		return
	}
	for _, inc := range incidents {
		p.telemetry.LinnixIncidents.Add(ctx, 1, metric.WithAttributes(
			attribute.String("rule", inc.Rule), attribute.String("state", inc.State)))
	}
	ld := toLogs(incidents, p.hostName, p.set.BuildInfo.Version, p.now())
	if err := p.nextLogs.ConsumeLogs(ctx, ld); err != nil {
		p.set.Logger.Error("Incident records were refused downstream", zap.Int("incidents", len(incidents)), zap.Error(err))
	}
}

// Shutdown stops evaluating; incidents not yet emitted are not synthesised.
func (p *incidentProcessor) Shutdown(context.Context) error {
	p.stopOnce.Do(func() {
		defer p.release()
		if p.cancel == nil {
			return
		}
		p.cancel()
		<-p.done
		p.telemetry.Shutdown()
	})
	return nil
}

type logsProcessor struct{ *incidentProcessor }

func (*logsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeLogs feeds lifecycle records to the rules and passes the input on.
func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	p.engine.ObserveLogs(ctx, ld, p.now())
	if !p.cfg.Passthrough {
		return nil
	}
	return p.nextLogs.ConsumeLogs(ctx, ld)
}

type metricsProcessor struct{ *incidentProcessor }

func (*metricsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeMetrics feeds samples to the rules and passes the input on.
func (p *metricsProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	p.engine.ObserveMetrics(ctx, md, p.now())
	if !p.cfg.Passthrough {
		return nil
	}
	return p.nextMetrics.ConsumeMetrics(ctx, md)
}
