package linnixslackexporter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Block Kit limits.
const (
	maxHeader  = 150
	maxSection = 3000
	maxField   = 2000
	maxText    = 3000
)

// Message is an incoming webhook's body.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a Block Kit block (header, section, context, divider).
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a text object.
type Text struct {
	Type  string `json:"type"` // plain_text or mrkdwn
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// view is what templates see: the alert and a few derived fields.
type view struct {
	*alert.Alert
}

// SeverityEmoji: :red_circle: critical, :large_orange_circle: warning,
// :large_blue_circle: info.
func (v *view) SeverityEmoji() string {
	switch v.Severity {
	case contract.SeverityCritical:
		return ":red_circle:"
	case contract.SeverityWarning:
		return ":large_orange_circle:"
	}
	return ":large_blue_circle:"
}

// Duration is how long the incident has lasted, rounded to the second.
func (v *view) Duration() string { return v.Time.Sub(v.Started).Round(time.Second).String() }

// NewMessage builds the Block Kit message of an alert.
func (s *slack) NewMessage(a *alert.Alert) (Message, error) {
	v := &view{Alert: a}
	var title, text strings.Builder
	tt := s.tpl.firingTitle
	if a.Action == alert.Resolve {
		tt = s.tpl.resolvedTitle
	}
	if err := tt.Execute(&title, v); err != nil {
		return Message{}, err
	}
	if err := s.tpl.text.Execute(&text, v); err != nil {
		return Message{}, err
	}
	m := Message{Text: alert.Truncate(text.String(), maxText)}
	m.Blocks = append(m.Blocks, Block{Type: "header", Text: &Text{Type: "plain_text", Text: alert.Truncate(title.String(), maxHeader), Emoji: true}})

	fields := []Text{
		field("Severity", a.Severity),
		field("Host", orDash(a.Host)),
		field("Process", orDash(processText(a))),
		field("Rule", fmt.Sprintf("%s (%s)", a.Rule, a.Kind)),
	}
	if a.Action == alert.Resolve {
		fields = append(fields, field("Lasted", v.Duration()))
	} else {
		fields = append(fields, field("Started", a.Started.UTC().Format(time.RFC3339)), field("Confidence", fmt.Sprintf("%.2f", a.Confidence)))
	}
	m.Blocks = append(m.Blocks, Block{Type: "section", Fields: fields})

	if a.Action != alert.Resolve {
		m.Blocks = append(m.Blocks, section("*Evidence*\n```"+alert.Truncate(escape(a.EvidenceJSON()), maxSection-24)+"```"))
		if len(a.Actions) > 0 {
			var b strings.Builder
			b.WriteString("*Actions*")
			for _, act := range a.Actions {
				b.WriteString("\n• ")
				b.WriteString(escape(act))
			}
			m.Blocks = append(m.Blocks, section(alert.Truncate(b.String(), maxSection)))
		}
		if an := a.Analysis; an != nil {
			t := fmt.Sprintf("*Analysis* (%s, confidence %.2f)\n%s", escape(an.Class), an.Confidence, escape(an.Summary))
			if an.RootCause != "" {
				t += "\n*Root cause:* " + escape(an.RootCause)
			}
			m.Blocks = append(m.Blocks, section(alert.Truncate(t, maxSection)))
		}
	}
	m.Blocks = append(m.Blocks, Block{Type: "context", Elements: []Text{{Type: "mrkdwn",
		Text: alert.Truncate(fmt.Sprintf("incident `%s` · %s · otelcol-linnix", escape(a.ID), a.Action), maxField)}}})
	return m, nil
}

func processText(a *alert.Alert) string {
	s := a.Subject()
	if a.Process.ContainerID != "" {
		s += " in container " + alert.Truncate(a.Process.ContainerID, 12)
	}
	return s
}

func field(name, value string) Text {
	return Text{Type: "mrkdwn", Text: alert.Truncate("*"+name+"*\n"+escape(value), maxField)}
}

func section(t string) Block { return Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: t}} }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// escape makes text safe for mrkdwn (Slack's three control characters).
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

type slack struct {
	alert.HTTP
	cfg     *Config
	tpl     templates
	limiter *alert.Limiter
}

func (s *slack) Send(ctx context.Context, a *alert.Alert) (any, error) {
	m, err := s.NewMessage(a)
	if err != nil {
		return nil, alert.Permanent(alert.FailEncode, err)
	}
	body, err := alert.Encode(m)
	if err != nil {
		return nil, err
	}
	if err := s.limiter.Wait(ctx); err != nil {
		return nil, &alert.Error{Reason: alert.FailTimeout, Err: err}
	}
	err = s.Post(ctx, string(s.cfg.WebhookURL), body, nil)
	if d := alert.RetryAfterOf(err); d > 0 {
		// Hold every message of this webhook, not only this one's retry.
		s.limiter.Pause(d)
	}
	return nil, err
}
