package incidentprocessor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/internal/periodic"
	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/analyzer"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/grounding"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
)

type incidentProcessor struct {
	cfg      *Config
	set      processor.Settings
	nextLogs consumer.Logs // where incidents go
	// How many pipelines of each signal the processor is in: the factory
	// counts them, Start warns about more than one.
	logsPipelines, metricsPipelines int

	engine    *engine.Engine
	analyzer  *analyzer.Analyzer // nil without an llm section
	llmHTTP   *http.Client
	redactor  *redact.Redactor   // masks command lines in prompts (llm::redaction)
	grounding *grounding.Tracker // the analysis context, with analyzer
	telemetry *metadata.TelemetryBuilder
	hostName  string
	now       func() time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

func newProcessor(set processor.Settings, cfg *Config) *incidentProcessor {
	return &incidentProcessor{cfg: cfg, set: set, now: time.Now}
}

// Start builds the rules. The factory shares one processor between the
// pipelines of a component ID and starts it once.
func (p *incidentProcessor) Start(ctx context.Context, host component.Host) error {
	if p.nextLogs == nil {
		p.set.Logger.Warn("The incident processor is in no logs pipeline: incidents are written to the collector's own log only. " +
			"Put the same component ID in a logs pipeline to emit them as records.")
	}
	if p.logsPipelines > 1 || p.metricsPipelines > 1 {
		// One state sees every pipeline: a receiver feeding two of them
		// would be counted twice, and incidents leave by one of them only.
		p.set.Logger.Warn("The incident processor is in more than one pipeline of a signal: data that reaches it through two pipelines is counted twice, and incidents go to one logs pipeline only. "+
			"Put it in one logs and one metrics pipeline.",
			zap.Int("logs_pipelines", p.logsPipelines), zap.Int("metrics_pipelines", p.metricsPipelines))
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
	if p.cfg.LLM.HasValue() {
		if err := p.startAnalysis(ctx, host); err != nil {
			return err
		}
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.evaluateLoop(loopCtx)
	return nil
}

func (p *incidentProcessor) startAnalysis(ctx context.Context, host component.Host) error {
	lc := p.cfg.LLM.Get()
	hc, err := lc.ToClient(ctx, host.GetExtensions(), p.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("llm: %w", err)
	}
	red, err := redact.New(lc.Redaction)
	if err != nil {
		return fmt.Errorf("llm: redaction: %w", err)
	}
	p.redactor = red
	p.llmHTTP = hc
	client := llm.New(hc, llm.Options{
		Endpoint: lc.Endpoint, Model: lc.Model, APIKey: string(lc.APIKey),
		MaxTokens: lc.MaxTokens, Temperature: lc.Temperature,
		RetryEnabled: lc.Retry.Enabled, RetryInitial: lc.Retry.InitialInterval, RetryMax: lc.Retry.MaxInterval,
		BreakerFailures: lc.CircuitBreaker.Failures, BreakerOpenFor: lc.CircuitBreaker.OpenFor,
	})
	p.grounding = grounding.New()
	p.analyzer = analyzer.New(client, lc.maxWait(), lc.MaxConcurrency, lc.QueueSize, p.emitAnalysed, p.observeOutcome)
	return nil
}

// emitAnalysed sends one incident with its analysis outcome; it runs on
// analyzer goroutines, so it must not block on anything but the consumer.
func (p *incidentProcessor) emitAnalysed(inc engine.Incident, out llm.Outcome) {
	now := p.now()
	ld := toLogs([]engine.Incident{inc}, p.hostName, p.set.BuildInfo.Version, now)
	fillAnalysis(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0), out, p.cfg.LLM.Get().Model)
	p.deliver(context.Background(), ld, []engine.Incident{inc})
}

func (p *incidentProcessor) observeOutcome(out llm.Outcome) {
	ctx := context.Background()
	p.telemetry.LinnixLlmRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", out.Status)))
	if out.Status != llm.StatusOK {
		p.telemetry.LinnixLlmFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", out.Reason)))
	}
	p.telemetry.LinnixLlmDuration.Record(ctx, out.Latency.Seconds())
	if out.InputTokens > 0 {
		p.telemetry.LinnixLlmTokens.Add(ctx, out.InputTokens, metric.WithAttributes(attribute.String("gen_ai.token.type", "input")))
	}
	if out.OutputTokens > 0 {
		p.telemetry.LinnixLlmTokens.Add(ctx, out.OutputTokens, metric.WithAttributes(attribute.String("gen_ai.token.type", "output")))
	}
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
	return engine.New(compiled, p.cfg.MaxTracked, p.cfg.StaleAfter)
}

// evaluateLoop evaluates every rule each evaluation_interval, so that
// windows slide and incidents resolve even when no data arrives.
func (p *incidentProcessor) evaluateLoop(ctx context.Context) {
	defer close(p.done)
	periodic.Run(ctx, p.cfg.EvaluationInterval, p.evaluate)
}

func (p *incidentProcessor) evaluate(ctx context.Context) {
	began := time.Now()
	incidents := p.engine.Evaluate(p.now())
	p.telemetry.LinnixIncidentsEvaluationDuration.Record(ctx, time.Since(began).Seconds())
	p.emit(ctx, incidents)
}

// emit sends incidents on, through the analysis when there is one.
func (p *incidentProcessor) emit(ctx context.Context, incidents []engine.Incident) {
	if len(incidents) == 0 {
		return
	}
	if p.analyzer != nil {
		now := p.now()
		for _, inc := range incidents {
			p.analyzer.Handle(inc, func() []llm.Fact {
				in := p.grounding.Input(inc, now, p.cfg.StaleAfter)
				in.Redactor = p.redactor
				return llm.Facts(in)
			})
		}
		return
	}
	p.deliver(ctx, toLogs(incidents, p.hostName, p.set.BuildInfo.Version, p.now()), incidents)
}

func (p *incidentProcessor) deliver(ctx context.Context, ld plog.Logs, incidents []engine.Incident) {
	for _, inc := range incidents {
		p.telemetry.LinnixIncidents.Add(ctx, 1, metric.WithAttributes(
			attribute.String("rule", inc.Rule), attribute.String("state", string(inc.State))))
	}
	if p.nextLogs == nil {
		for _, inc := range incidents {
			p.set.Logger.Warn("Incident", zap.String("rule", inc.Rule), zap.String("state", string(inc.State)), zap.String("summary", inc.Summary))
		}
		return
	}
	if err := p.nextLogs.ConsumeLogs(ctx, ld); err != nil {
		p.set.Logger.Error("Incident records were refused downstream", zap.Int("incidents", len(incidents)), zap.Error(err))
	}
}

// Shutdown stops evaluating and emits every incident still held for its
// analysis, without it.
func (p *incidentProcessor) Shutdown(context.Context) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	<-p.done
	if p.analyzer != nil {
		p.analyzer.Shutdown()
		p.llmHTTP.CloseIdleConnections()
	}
	p.telemetry.Shutdown()
	return nil
}

// processLogs feeds lifecycle records to the rules and passes the input on.
func (p *incidentProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	fired := p.engine.ObserveLogs(ctx, ld, p.now())
	if p.grounding != nil {
		p.grounding.ObserveLogs(ld)
	}
	// A storm's incident goes out now, before the records that fired it
	// move on, rather than at the next evaluation.
	p.emit(ctx, fired)
	if !p.cfg.Passthrough {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

// processMetrics feeds samples to the rules and passes the input on.
func (p *incidentProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	p.engine.ObserveMetrics(ctx, md, p.now())
	if p.grounding != nil {
		p.grounding.ObserveMetrics(md, p.now())
	}
	if !p.cfg.Passthrough {
		return md, processorhelper.ErrSkipProcessingData
	}
	return md, nil
}
