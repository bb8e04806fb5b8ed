package funcauth

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Structured Field Values (RFC 8941), as far as HTTP Message Signatures
// (RFC 9421) and Content-Digest (RFC 9530) use them: dictionaries whose
// members are items or inner lists, with parameters; bare items that are
// integers, strings, tokens, byte sequences or booleans. Decimals are
// refused. Sizes are bounded.

const (
	maxSFMembers = 16
	maxSFItems   = 32
	maxSFParams  = 16
)

// sfItem is a bare item with its parameters. Items are handled by
// pointer: Yaegi v0.16.1 loses the fields of a struct value copied into
// another struct literal.
type sfItem struct {
	kind   byte // 'i' integer, 's' string, 't' token, 'b' bytes, '?' boolean
	num    int64
	str    string // string or token
	bytes  []byte
	flag   bool
	params []sfParam
}

type sfParam struct {
	key   string
	value *sfItem // without parameters
}

// sfMember is a dictionary member: an item, or an inner list of items.
type sfMember struct {
	key    string
	inner  bool
	item   *sfItem   // when !inner
	items  []*sfItem // when inner
	params []sfParam
}

type sfParser struct {
	s string
	i int
}

var errSF = errors.New("malformed structured field")

// parseSFDictionary parses an RFC 8941 dictionary. A repeated key keeps its
// last value, as the RFC says.
func parseSFDictionary(s string) ([]*sfMember, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var members []*sfMember
	for p.i < len(p.s) {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		m := &sfMember{key: key}
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				m.inner = true
				if m.items, err = p.innerList(); err != nil {
					return nil, err
				}
			} else if m.item, err = p.bareItem(); err != nil {
				return nil, err
			}
		} else {
			m.item = &sfItem{kind: '?', flag: true}
		}
		if m.params, err = p.parameters(); err != nil {
			return nil, err
		}
		replaced := false
		for j := range members {
			if members[j].key == key {
				members[j] = m
				replaced = true
			}
		}
		if !replaced {
			if len(members) == maxSFMembers {
				return nil, errors.New("too many structured field members")
			}
			members = append(members, m)
		}
		p.skipOWS()
		if p.i == len(p.s) {
			return members, nil
		}
		if p.s[p.i] != ',' {
			return nil, errSF
		}
		p.i++
		p.skipOWS()
		if p.i == len(p.s) {
			return nil, errSF // a trailing comma
		}
	}
	return members, nil
}

func (p *sfParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// key is lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
func (p *sfParser) key() (string, error) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z') && c != '*' {
		return "", errSF
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) innerList() ([]*sfItem, error) {
	p.i++ // (
	var items []*sfItem
	for {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			return items, nil
		}
		if len(items) == maxSFItems {
			return nil, errors.New("too many items in an inner list")
		}
		item, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		if item.params, err = p.parameters(); err != nil {
			return nil, err
		}
		items = append(items, item)
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, errSF
		}
	}
}

func (p *sfParser) parameters() ([]sfParam, error) {
	var params []sfParam
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		value := &sfItem{kind: '?', flag: true}
		if p.peek() == '=' {
			p.i++
			if value, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		replaced := false
		for j := range params {
			if params[j].key == key {
				params[j].value = value
				replaced = true
			}
		}
		if !replaced {
			if len(params) == maxSFParams {
				return nil, errors.New("too many parameters")
			}
			params = append(params, sfParam{key: key, value: value})
		}
	}
	return params, nil
}

func (p *sfParser) bareItem() (*sfItem, error) {
	c := p.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		return p.integer()
	case c == '"':
		return p.sfString()
	case c == ':':
		return p.byteSequence()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return &sfItem{kind: '?', flag: p.s[p.i-1] == '1'}, nil
		}
		return nil, errSF
	case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*':
		start := p.i
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		return &sfItem{kind: 't', str: p.s[start:p.i]}, nil
	}
	return nil, errSF
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte("\"(),;<=>?@[\\]{}", c) < 0
}

func (p *sfParser) integer() (*sfItem, error) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || p.i-digits > 15 || p.peek() == '.' {
		return nil, errSF
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		return nil, errSF
	}
	return &sfItem{kind: 'i', num: n}, nil
}

func (p *sfParser) sfString() (*sfItem, error) {
	p.i++ // "
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.i == len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return nil, errSF
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return &sfItem{kind: 's', str: b.String()}, nil
		case c < ' ' || c >= 0x7f:
			return nil, errSF
		default:
			b.WriteByte(c)
		}
	}
	return nil, errSF
}

func (p *sfParser) byteSequence() (*sfItem, error) {
	p.i++ // :
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return nil, errSF
	}
	b, err := base64.StdEncoding.DecodeString(p.s[p.i : p.i+end])
	if err != nil {
		return nil, errSF
	}
	p.i += end + 1
	return &sfItem{kind: 'b', bytes: b}, nil
}

// serializeInnerList writes an inner list with its parameters in the
// canonical form of RFC 8941 section 4.1.
func serializeInnerList(items []*sfItem, params []sfParam) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, item := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeBareItem(&b, item)
		writeParams(&b, item.params)
	}
	b.WriteByte(')')
	writeParams(&b, params)
	return b.String()
}

func writeParams(b *strings.Builder, params []sfParam) {
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.value.kind == '?' && p.value.flag {
			continue
		}
		b.WriteByte('=')
		writeBareItem(b, p.value)
	}
}

func writeBareItem(b *strings.Builder, item *sfItem) {
	switch item.kind {
	case 'i':
		b.WriteString(strconv.FormatInt(item.num, 10))
	case 's':
		b.WriteByte('"')
		for i := 0; i < len(item.str); i++ {
			if c := item.str[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(item.str[i])
		}
		b.WriteByte('"')
	case 't':
		b.WriteString(item.str)
	case 'b':
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(item.bytes))
		b.WriteByte(':')
	case '?':
		if item.flag {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	}
}

// param returns the parameter named key, or nil.
func param(params []sfParam, key string) *sfItem {
	for _, p := range params {
		if p.key == key {
			return p.value
		}
	}
	return nil
}
