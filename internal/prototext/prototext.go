// Package prototext formats protobuf messages as the text of
// google.golang.org/protobuf/encoding/prototext, redacting credentials as it
// goes and stopping at a byte limit: the text of a captured gRPC message.
// Unlike prototext's output, which varies its spacing at random so that it
// cannot be relied on, this text is stable.
package prototext

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/debugz/debugz/internal/redact"
	"github.com/debugz/debugz/internal/textcut"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Format returns m as multi-line text in the format of prototext (2-space
// indent, fields by number, maps by key, unknown fields left out) with
// credentials redacted, cut on a rune boundary to maxBytes, an ellipsis
// included. A field whose name looks like a
// credential ([redact.Key]) is shown as [redact.Marker], a whole sub-message
// or list included, and so is the value of a map entry whose string key
// does; every string and bytes value goes through [redact.String]; a
// google.protobuf.Any whose type is not linked in shows its type URL, and
// its value as the marker. Formatting stops once past the limit.
func Format(m proto.Message, maxBytes int) string {
	w := textWriter{max: maxBytes}
	w.fields(m.ProtoReflect())
	if w.b.Len() > 0 {
		w.b.WriteByte('\n') // as prototext ends its multi-line text
	}
	return textcut.Ellipsis(w.b.String(), maxBytes)
}

const anyName protoreflect.FullName = "google.protobuf.Any"

// textWriter writes a message as Format does.
type textWriter struct {
	b      strings.Builder
	indent int // of the fields being written, in levels of 2 spaces
	max    int // bytes of text past which nothing more is written
}

// full reports whether the text is already over the limit: what follows
// would be cut.
func (w *textWriter) full() bool { return w.b.Len() > w.max }

// name starts the line of a field.
func (w *textWriter) name(name string) {
	if w.b.Len() > 0 {
		w.b.WriteByte('\n')
	}
	for range w.indent {
		w.b.WriteString("  ")
	}
	w.b.WriteString(name)
	w.b.WriteString(": ")
}

// fields writes the fields of m, one line each (more for messages).
func (w *textWriter) fields(m protoreflect.Message) {
	if m.Descriptor().FullName() == anyName && w.any(m) {
		return
	}
	type field struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var fs []field
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fs = append(fs, field{fd, v})
		return true
	})
	slices.SortFunc(fs, func(a, b field) int { return cmp.Compare(a.fd.Number(), b.fd.Number()) })
	for _, f := range fs {
		if w.full() {
			return
		}
		name := f.fd.TextName()
		switch {
		case redact.Key(name):
			w.name(name)
			w.b.WriteString(redact.Marker)
		case f.fd.IsList():
			l := f.v.List()
			for i := 0; i < l.Len() && !w.full(); i++ {
				w.name(name)
				w.value(l.Get(i), f.fd)
			}
		case f.fd.IsMap():
			w.mapEntries(name, f.v.Map(), f.fd)
		default:
			w.name(name)
			w.value(f.v, f.fd)
		}
	}
}

// mapEntries writes the entries of a map field by key, as prototext does:
// one `name: {key: … value: …}` each.
func (w *textWriter) mapEntries(name string, m protoreflect.Map, fd protoreflect.FieldDescriptor) {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		if w.full() {
			return
		}
		w.name(name)
		w.b.WriteByte('{')
		w.indent++
		w.name("key")
		w.value(k.Value(), fd.MapKey())
		w.name("value")
		if s, ok := k.Interface().(string); ok && redact.Key(s) {
			w.b.WriteString(redact.Marker)
		} else {
			w.value(m.Get(k), fd.MapValue())
		}
		w.close()
	}
}

// compareKeys orders map keys as prototext does: false before true, numbers
// by value, strings by bytes.
func compareKeys(a, b protoreflect.MapKey) int {
	switch x := a.Interface().(type) {
	case bool:
		return cmp.Compare(b2i(x), b2i(b.Bool()))
	case string:
		return strings.Compare(x, b.String())
	case int32, int64:
		return cmp.Compare(a.Int(), b.Int())
	}
	return cmp.Compare(a.Uint(), b.Uint())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// close ends a message opened with '{' and whose fields were written one
// indent deeper.
func (w *textWriter) close() {
	w.indent--
	w.b.WriteByte('\n')
	for range w.indent {
		w.b.WriteString("  ")
	}
	w.b.WriteByte('}')
}

// message writes m between braces, "{}" when it has no field set.
func (w *textWriter) message(m protoreflect.Message) {
	w.b.WriteByte('{')
	n := w.b.Len()
	w.indent++
	w.fields(m)
	if w.b.Len() == n {
		w.indent--
		w.b.WriteByte('}')
		return
	}
	w.close()
}

// any writes a google.protobuf.Any: expanded as "[type URL]: {…}" when its
// type is linked in and its value decodes, else as its type URL and a
// redacted value, never as raw bytes. It returns false if m is not an Any
// it can read (then its fields are written as any message's).
func (w *textWriter) any(m protoreflect.Message) bool {
	fds := m.Descriptor().Fields()
	fdURL, fdValue := fds.ByNumber(1), fds.ByNumber(2) // type_url, value
	if fdURL == nil || fdValue == nil || fdURL.Kind() != protoreflect.StringKind || fdValue.Kind() != protoreflect.BytesKind {
		return false
	}
	url, value := m.Get(fdURL).String(), m.Get(fdValue).Bytes()
	if mt, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		inner := mt.New()
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(value, inner.Interface()); err == nil {
			w.name("[" + redact.String(url) + "]")
			w.message(inner)
			return true
		}
	}
	if url != "" {
		w.name(fdURL.TextName())
		w.quote(redact.String(url))
	}
	if len(value) > 0 {
		w.name(fdValue.TextName())
		w.b.WriteString(redact.Marker)
	}
	return true
}

// value writes a value of field fd that is not a list or a map.
func (w *textWriter) value(v protoreflect.Value, fd protoreflect.FieldDescriptor) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		w.b.WriteString(strconv.FormatBool(v.Bool()))
	case protoreflect.StringKind:
		w.quote(redact.String(v.String()))
	case protoreflect.BytesKind:
		// Binary bytes go through redact.String too: it only changes text
		// shaped like a credential, which is one in bytes as well.
		w.quote(redact.String(string(v.Bytes())))
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		w.b.WriteString(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		w.b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind:
		w.float(v.Float(), 32)
	case protoreflect.DoubleKind:
		w.float(v.Float(), 64)
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			w.b.WriteString(string(ev.Name()))
		} else {
			w.b.WriteString(strconv.FormatInt(int64(v.Enum()), 10))
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message())
	}
}

func (w *textWriter) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		w.b.WriteString("nan")
	case math.IsInf(f, 1):
		w.b.WriteString("inf")
	case math.IsInf(f, -1):
		w.b.WriteString("-inf")
	default:
		w.b.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

// quote writes s as a prototext string: double-quoted, with \", \\, \n, \r,
// \t, \xHH for other control characters, DEL and bytes that are not UTF-8,
// and \uHHHH for the C1 controls. It stops once the text is over the limit.
func (w *textWriter) quote(s string) {
	w.b.WriteByte('"')
	for len(s) > 0 && !w.full() {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			w.hex(`\x`, uint64(s[0]), 2)
		case r == '"' || r == '\\':
			w.b.WriteByte('\\')
			w.b.WriteByte(byte(r))
		case r == '\n':
			w.b.WriteString(`\n`)
		case r == '\r':
			w.b.WriteString(`\r`)
		case r == '\t':
			w.b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			w.hex(`\x`, uint64(r), 2)
		case r >= 0x80 && r <= 0x9f:
			w.hex(`\u`, uint64(r), 4)
		default:
			w.b.WriteString(s[:n])
		}
		s = s[n:]
	}
	w.b.WriteByte('"')
}

// hex writes escape then n in at least digits hexadecimal digits.
func (w *textWriter) hex(escape string, n uint64, digits int) {
	w.b.WriteString(escape)
	h := strconv.FormatUint(n, 16)
	for range digits - len(h) {
		w.b.WriteByte('0')
	}
	w.b.WriteString(h)
}
