package auditformat

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a parsed JSON value that keeps what canonicalisation needs: member order as read (duplicates too) and
// numbers as their source text.
type Value struct {
	Kind    Kind
	Bool    bool
	Str     string // String: the decoded text; Number: the literal as written
	Items   []Value
	Members []Member
}

// Member is one name/value pair of an object.
type Member struct {
	Name  string
	Value Value
}

// Get returns the value of the last member called name, and whether there is one.
func (v *Value) Get(name string) (*Value, bool) {
	for i := len(v.Members) - 1; i >= 0; i-- {
		if v.Members[i].Name == name {
			return &v.Members[i].Value, true
		}
	}
	return nil, false
}

// HasNumber reports whether v or anything inside it is a JSON number.
func (v *Value) HasNumber() bool {
	switch v.Kind {
	case Number:
		return true
	case Array:
		for i := range v.Items {
			if v.Items[i].HasNumber() {
				return true
			}
		}
	case Object:
		for i := range v.Members {
			if v.Members[i].Value.HasNumber() {
				return true
			}
		}
	}
	return false
}

// ParseJSON parses one JSON text (RFC 8259, UTF-8; surrounding whitespace allowed). Strings holding lone surrogate
// escapes are rejected, since no UTF-8 text can hold them.
func ParseJSON(data []byte) (Value, error) {
	if !utf8.Valid(data) {
		return Value{}, errors.New("not valid UTF-8")
	}
	p := parser{data: data}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.pos != len(p.data) {
		return Value{}, fmt.Errorf("trailing data at byte %d", p.pos)
	}
	return v, nil
}

// AppendCanonical appends the RFC 8785 serialisation of v. Numbers are re-rendered with AppendDouble; an error is
// returned for a number that is not finite as a double. Of members with the same name only the last is kept, so a
// text with repeated names is never byte-identical to its canonical form.
func AppendCanonical(dst []byte, v *Value) ([]byte, error) {
	switch v.Kind {
	case Null:
		return append(dst, "null"...), nil
	case Bool:
		if v.Bool {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case String:
		return AppendString(dst, v.Str), nil
	case Number:
		f, err := strconv.ParseFloat(v.Str, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", v.Str, err)
		}
		return AppendDouble(dst, f), nil
	case Array:
		dst = append(dst, '[')
		for i := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, &v.Items[i]); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	order := make([]int, len(v.Members))
	for i := range order {
		order[i] = i
	}
	sortIndexes(order, func(a, b int) int { return CompareKeys(v.Members[a].Name, v.Members[b].Name) })
	dst = append(dst, '{')
	first := true
	for i, m := range order {
		if i+1 < len(order) && v.Members[order[i+1]].Name == v.Members[m].Name {
			continue // a repeated name: the last one wins, as in every common JSON parser
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, v.Members[m].Name)
		dst = append(dst, ':')
		var err error
		if dst, err = AppendCanonical(dst, &v.Members[m].Value); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// sortIndexes is an insertion sort: objects in records are small, and it needs no allocation.
func sortIndexes(idx []int, cmp func(a, b int) int) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && cmp(idx[j-1], idx[j]) > 0; j-- {
			idx[j-1], idx[j] = idx[j], idx[j-1]
		}
	}
}

const maxParseDepth = 512

type parser struct {
	data []byte
	pos  int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%s at byte %d", what, p.pos)
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (Value, error) {
	if depth > maxParseDepth {
		return Value{}, p.fail("nesting too deep")
	}
	if p.pos >= len(p.data) {
		return Value{}, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return Value{Kind: String, Str: s}, err
	case p.literal("true"):
		return Value{Kind: Bool, Bool: true}, nil
	case p.literal("false"):
		return Value{Kind: Bool}, nil
	case p.literal("null"):
		return Value{Kind: Null}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return Value{}, p.fail("unexpected character")
}

func (p *parser) object(depth int) (Value, error) {
	p.pos++
	v := Value{Kind: Object, Members: []Member{}}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.fail("expected member name")
		}
		name, err := p.string()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.fail("expected ':'")
		}
		p.pos++
		p.space()
		item, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.Members = append(v.Members, Member{Name: name, Value: item})
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		return Value{}, p.fail("expected ',' or '}'")
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.pos++
	v := Value{Kind: Array, Items: []Value{}}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.space()
		item, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.Items = append(v.Items, item)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		return Value{}, p.fail("expected ',' or ']'")
	}
}

func (p *parser) number() (Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return Value{}, p.fail("bad number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return Value{}, p.fail("bad fraction")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return Value{}, p.fail("bad exponent")
		}
	}
	return Value{Kind: Number, Str: string(p.data[start:p.pos])}, nil
}

func (p *parser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character in string")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", p.fail("unterminated escape")
		}
		esc := p.data[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || !p.literal(`\u`) {
					return "", p.fail("lone surrogate")
				}
				r2, ok := p.hex4()
				if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
					return "", p.fail("lone surrogate")
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}
