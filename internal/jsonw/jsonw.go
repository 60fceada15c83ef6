package jsonw

import (
	"encoding/json"
	"strconv"
	"time"
)

// String appends s as a JSON string, escaped as encoding/json escapes it.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// Control characters, non-ASCII (invalid UTF-8, U+2028/2029) and the
			// HTML-unsafe: let encoding/json decide, so the output stays identical.
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Key appends "name": after a separator (a comma unless first).
func Key(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// Int appends n.
func Int(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// Time appends t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds, quoted).
func Time(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		enc, _ := json.Marshal(t)
		return append(b, enc...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Value appends v through encoding/json (for the rare field that is not a plain string,
// number or time).
func Value(b []byte, v any) ([]byte, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// StringField appends ,"name":s (a field after an object's first).
func StringField(b []byte, name, s string) []byte { return String(Key(b, name, false), s) }

// IntField appends ,"name":n.
func IntField(b []byte, name string, n int64) []byte { return Int(Key(b, name, false), n) }

// TimeField appends ,"name":t.
func TimeField(b []byte, name string, t time.Time) []byte { return Time(Key(b, name, false), t) }

// OmitString is [StringField] for an `omitempty` string: nothing when s is "".
func OmitString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return StringField(b, name, s)
}

// OmitInt is [IntField] for an `omitempty` *int64: nothing when p is nil.
func OmitInt(b []byte, name string, p *int64) []byte {
	if p == nil {
		return b
	}
	return IntField(b, name, *p)
}

// OmitTime is [TimeField] for an `omitempty` *time.Time: nothing when p is nil.
func OmitTime(b []byte, name string, p *time.Time) []byte {
	if p == nil {
		return b
	}
	return TimeField(b, name, *p)
}
