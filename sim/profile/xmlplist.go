package profile

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"howett.net/plist"
)

// An XML plist is decoded here rather than by howett.net/plist, which
// recurses without a depth limit, reserves room for 32 entries in every
// dictionary (a megabyte of "<dict/>" becomes hundreds of megabytes) and
// never looks at a context. The values are the ones howett.net/plist gives
// (a test compares them). XML has no shared references, so the element count
// is the object count.

type xmlDecoder struct {
	dec    *xml.Decoder
	budget budget
	tokens int
}

func decodeXML(ctx context.Context, b []byte, lim Limits) (any, error) {
	d := &xmlDecoder{dec: xml.NewDecoder(bytes.NewReader(b)), budget: budget{ctx: ctx, lim: lim, what: "XML plist", cause: "plist bombs"}}
	v, err := d.document()
	if err != nil {
		if errors.Is(err, ErrLimit) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("not a property list: XML: %w", err)
	}
	return v, nil
}

func (d *xmlDecoder) token() (xml.Token, error) {
	d.tokens++
	if d.tokens%ctxEvery == 0 {
		if err := d.budget.ctx.Err(); err != nil {
			return nil, err
		}
	}
	t, err := d.dec.Token()
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return t, err
}

// document reads up to the first element, as howett.net/plist does; a
// <plist> element holds one value and whatever follows it is ignored.
func (d *xmlDecoder) document() (any, error) {
	for {
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != "plist" {
			return d.value(se, 0)
		}
		if err := d.budget.take(); err != nil {
			return nil, err
		}
		for {
			t, err := d.token()
			if err != nil {
				return nil, err
			}
			switch t := t.(type) {
			case xml.EndElement:
				return nil, nil // an empty <plist/>
			case xml.StartElement:
				return d.value(t, 1)
			}
		}
	}
}

// value decodes the element se opened at nesting depth depth.
func (d *xmlDecoder) value(se xml.StartElement, depth int) (any, error) {
	if err := d.budget.take(); err != nil {
		return nil, err
	}
	if err := d.budget.depth(depth + 1); err != nil {
		return nil, err
	}
	switch se.Name.Local {
	case "dict":
		return d.dict(depth)
	case "array":
		return d.array(depth)
	case "true", "false":
		if _, err := d.text(se); err != nil {
			return nil, err
		}
		return se.Name.Local == "true", nil
	}
	s, err := d.text(se)
	if err != nil {
		return nil, err
	}
	switch se.Name.Local {
	case "string":
		return s, nil
	case "integer":
		return xmlInteger(s)
	case "real":
		return strconv.ParseFloat(s, 64)
	case "date":
		return time.ParseInLocation(time.RFC3339, s, time.UTC)
	case "data":
		return base64.StdEncoding.DecodeString(strings.NewReplacer("\t", "", "\n", "", " ", "", "\r", "").Replace(s))
	}
	return nil, fmt.Errorf("unknown element <%s>", se.Name.Local)
}

// text reads the character data of a leaf element up to its end.
func (d *xmlDecoder) text(se xml.StartElement) (string, error) {
	var sb strings.Builder
	for {
		t, err := d.token()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return sb.String(), nil
		case xml.StartElement:
			return "", fmt.Errorf("<%s> inside <%s>", t.Name.Local, se.Name.Local)
		}
	}
}

func xmlInteger(s string) (any, error) {
	if s == "" {
		return nil, errors.New("empty <integer/>")
	}
	base := func(s string) (string, int) {
		if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			return s[2:], 16
		}
		return s, 10
	}
	if s[0] == '-' {
		digits, b := base(s[1:])
		return strconv.ParseInt("-"+digits, b, 64)
	}
	digits, b := base(s)
	return strconv.ParseUint(digits, b, 64)
}

func (d *xmlDecoder) array(depth int) (any, error) {
	out := []any{}
	for {
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.EndElement:
			return out, nil
		case xml.StartElement:
			v, err := d.value(t, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
}

func (d *xmlDecoder) dict(depth int) (any, error) {
	out := map[string]any{}
	entries := 0
	var key *string
	for {
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.EndElement:
			if key != nil {
				return nil, fmt.Errorf("<key>%s</key> without a value", *key)
			}
			if entries == 1 {
				return uidOr(out), nil
			}
			return out, nil
		case xml.StartElement:
			if t.Name.Local == "key" {
				if err := d.budget.take(); err != nil {
					return nil, err
				}
				k, err := d.text(t)
				if err != nil {
					return nil, err
				}
				key = &k
				continue
			}
			if key == nil {
				return nil, fmt.Errorf("<%s> in a dictionary without a <key>", t.Name.Local)
			}
			v, err := d.value(t, depth+1)
			if err != nil {
				return nil, err
			}
			out[*key], key = v, nil
			entries++
		}
	}
}

// uidOr turns {CF$UID: n} into a UID, as howett.net/plist does.
func uidOr(m map[string]any) any {
	switch n := m["CF$UID"].(type) {
	case uint64:
		return plist.UID(n)
	case int64:
		return plist.UID(uint64(n))
	}
	return m
}
