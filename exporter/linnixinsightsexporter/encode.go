package linnixinsightsexporter

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// The event stream fans every record out to every client: the record is
// written as an SSE frame once, straight from pdata into bytes, and the
// same bytes go to each client. encoding/json of an insightsapi.Event
// would build and sort a map per record; this writes the same document
// (the test decodes it into insightsapi.Event) at a fraction of the cost.

// appendFrame appends the `event: record` frame of one record.
func appendFrame(b []byte, ev *insightsapi.Event, res, attrs pcommon.Map) []byte {
	b = append(b, "event: "+insightsapi.SSERecord+"\nid: "...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, "\ndata: "...)
	b = appendEvent(b, ev, res, attrs)
	return append(b, "\n\n"...)
}

// appendEvent writes ev as insightsapi.Event's JSON, its attributes being
// the resource's, then the record's (a record attribute wins over a
// resource attribute of the same name, as a reader of the record expects).
func appendEvent(b []byte, ev *insightsapi.Event, res, attrs pcommon.Map) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":`...)
	b = appendString(b, string(ev.Type))
	if ev.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, ev.PID, 10)
	}
	if ev.PPID != 0 {
		b = append(b, `,"ppid":`...)
		b = strconv.AppendInt(b, ev.PPID, 10)
	}
	for _, f := range [...]struct{ k, v string }{{"executable", ev.Executable}, {"command", ev.Command},
		{"container", ev.Container}, {"severity", ev.Severity}, {"body", ev.Body}} {
		if f.v != "" {
			b = append(b, ',', '"')
			b = append(b, f.k...)
			b = append(b, '"', ':')
			b = appendString(b, f.v)
		}
	}
	if res.Len()+attrs.Len() > 0 {
		b = append(b, `,"attributes":{`...)
		first := true
		for k, v := range res.All() {
			if _, shadowed := attrs.Get(k); shadowed {
				continue
			}
			b = appendMember(b, &first, k, v)
		}
		for k, v := range attrs.All() {
			b = appendMember(b, &first, k, v)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendMember(b []byte, first *bool, k string, v pcommon.Value) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = appendString(b, k)
	b = append(b, ':')
	return appendValue(b, v)
}

func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no NaN or infinity: say what it was.
			return appendString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeMap:
		b = append(b, '{')
		first := true
		for k, e := range v.Map().All() {
			b = appendMember(b, &first, k, e)
		}
		return append(b, '}')
	case pcommon.ValueTypeSlice:
		b = append(b, '[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	default:
		return append(b, "null"...)
	}
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029
// escaped for JavaScript readers. An SSE data line cannot hold a raw
// newline, and JSON never has one.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
