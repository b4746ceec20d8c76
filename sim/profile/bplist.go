package profile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf16"

	"howett.net/plist"
)

// A binary plist (bplist00) is decoded here rather than by howett.net/plist:
// that library shares a decoded object between the slots that reference it,
// but its conversion to Go values copies the object for every slot, so a few
// hundred bytes of nested shared references expand to gigabytes before the
// caller sees anything, and nothing in it looks at a context. This decoder
// counts every object it produces, expansion included, refuses cycles and
// deep nesting, and gives the same Go values as howett.net/plist (a test
// compares them).

const bplistTrailerSize = 32

type bplistDecoder struct {
	buf     []byte
	offSize int    // bytes per offset-table entry
	refSize int    // bytes per object reference
	numObj  uint64 // objects in the offset table
	tableAt uint64 // where the offset table starts; objects lie before it
	budget  budget
	path    []uint64          // offsets of the containers being decoded, to refuse cycles
	strs    map[uint64]string // decoded strings by offset: a shared string is converted once
}

func decodeBinary(ctx context.Context, b []byte, lim Limits) (any, error) {
	d, err := newBplistDecoder(ctx, b, lim)
	if err != nil {
		return nil, fmt.Errorf("not a property list: binary: %w", err)
	}
	top := binary.BigEndian.Uint64(b[len(b)-16:])
	v, err := d.object(top, 0)
	if err != nil {
		if errors.Is(err, ErrLimit) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("not a property list: binary: %w", err)
	}
	return v, nil
}

func newBplistDecoder(ctx context.Context, b []byte, lim Limits) (*bplistDecoder, error) {
	if len(b) < 8+1+bplistTrailerSize {
		return nil, errors.New("too short for a header, an object and a trailer")
	}
	if string(b[:8]) != "bplist00" {
		return nil, fmt.Errorf("unsupported header %q (want bplist00)", b[:8])
	}
	t := b[len(b)-bplistTrailerSize:]
	d := &bplistDecoder{
		buf:     b,
		offSize: int(t[6]),
		refSize: int(t[7]),
		numObj:  binary.BigEndian.Uint64(t[8:]),
		tableAt: binary.BigEndian.Uint64(t[24:]),
		budget:  budget{ctx: ctx, lim: lim, what: "binary plist", cause: "plist bombs"},
		strs:    map[uint64]string{},
	}
	top := binary.BigEndian.Uint64(t[16:])
	if !validIntSize(d.offSize) || !validIntSize(d.refSize) {
		return nil, fmt.Errorf("offset size %d or reference size %d is not 1, 2, 4 or 8", d.offSize, d.refSize)
	}
	if d.numObj == 0 {
		return nil, errors.New("no objects")
	}
	if d.numObj > uint64(lim.MaxObjects) {
		return nil, overLimit("binary plist declares %d objects, more than the limit of %d; the limit guards against plist bombs", d.numObj, lim.MaxObjects)
	}
	if top >= d.numObj {
		return nil, fmt.Errorf("top object %d out of range (%d objects)", top, d.numObj)
	}
	end := uint64(len(b) - bplistTrailerSize)
	if d.tableAt < 9 || d.tableAt > end || d.numObj*uint64(d.offSize) > end-d.tableAt {
		return nil, fmt.Errorf("offset table at %d with %d entries does not fit before the trailer at %d", d.tableAt, d.numObj, end)
	}
	return d, nil
}

func validIntSize(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 }

func (d *bplistDecoder) uint(off uint64, n int) (uint64, error) {
	if off > uint64(len(d.buf)) || uint64(n) > uint64(len(d.buf))-off {
		return 0, fmt.Errorf("integer at %d runs past the end", off)
	}
	var v uint64
	for _, c := range d.buf[off : off+uint64(n)] {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// object decodes the object with index i, at nesting depth depth.
func (d *bplistDecoder) object(i uint64, depth int) (any, error) {
	if err := d.budget.take(); err != nil {
		return nil, err
	}
	if i >= d.numObj {
		return nil, fmt.Errorf("reference to object %d, but there are %d", i, d.numObj)
	}
	off, err := d.uint(d.tableAt+i*uint64(d.offSize), d.offSize)
	if err != nil {
		return nil, err
	}
	if off < 8 || off >= d.tableAt {
		return nil, fmt.Errorf("object %d at %d lies outside the object area", i, off)
	}
	tag := d.buf[off]
	switch tag >> 4 {
	case 0x0:
		switch tag {
		case 0x08:
			return false, nil
		case 0x09:
			return true, nil
		}
	case 0x1:
		return d.integer(off)
	case 0x2:
		bits, err := d.uint(off+1, 1<<(tag&0xf))
		switch {
		case err != nil:
			return nil, err
		case tag&0xf == 2:
			return math.Float32frombits(uint32(bits)), nil
		case tag&0xf == 3:
			return math.Float64frombits(bits), nil
		}
		return nil, fmt.Errorf("real of %d bytes at %d", 1<<(tag&0xf), off)
	case 0x3:
		if tag != 0x33 {
			break
		}
		bits, err := d.uint(off+1, 8)
		if err != nil {
			return nil, err
		}
		// Seconds since 2001-01-01, converted as howett.net/plist does.
		sec, frac := math.Modf(math.Float64frombits(bits) + 978307200)
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).In(time.UTC), nil
	case 0x4:
		start, n, err := d.span(off, 1)
		if err != nil {
			return nil, err
		}
		return d.buf[start : start+n], nil
	case 0x5, 0x6:
		return d.str(off, tag>>4 == 0x6)
	case 0x8:
		n := int(tag&0xf) + 1
		if !validIntSize(n) {
			break
		}
		v, err := d.uint(off+1, n)
		return plist.UID(v), err
	case 0xA:
		return d.array(off, depth)
	case 0xD:
		return d.dict(off, depth)
	}
	return nil, fmt.Errorf("unknown object marker 0x%02x at %d", tag, off)
}

func (d *bplistDecoder) integer(off uint64) (any, error) {
	n := 1 << (d.buf[off] & 0xf)
	switch n {
	case 1, 2, 4:
		v, err := d.uint(off+1, n)
		return v, err
	case 8:
		v, err := d.uint(off+1, 8)
		if v>>63 == 1 {
			return int64(v), err
		}
		return v, err
	case 16:
		hi, err := d.uint(off+1, 8)
		if err != nil {
			return nil, err
		}
		lo, err := d.uint(off+9, 8)
		if hi == math.MaxUint64 {
			return int64(lo), err
		}
		return lo, err
	}
	return nil, fmt.Errorf("integer of %d bytes at %d", n, off)
}

// span reads the count of the object at off and returns where its content
// starts and how many bytes it has (count × unit), all before the offset
// table.
func (d *bplistDecoder) span(off uint64, unit uint64) (start, n uint64, err error) {
	count := uint64(d.buf[off] & 0xf)
	start = off + 1
	if count == 0xf {
		if start >= d.tableAt || d.buf[start]>>4 != 0x1 || d.buf[start]&0xf > 3 {
			return 0, 0, fmt.Errorf("bad count marker after object at %d", off)
		}
		size := 1 << (d.buf[start] & 0xf)
		if count, err = d.uint(start+1, size); err != nil {
			return 0, 0, err
		}
		start += 1 + uint64(size)
	}
	if start > d.tableAt || count > (d.tableAt-start)/unit {
		return 0, 0, fmt.Errorf("object at %d claims %d entries, more than fit before the offset table", off, count)
	}
	return start, count * unit, nil
}

func (d *bplistDecoder) str(off uint64, utf16be bool) (string, error) {
	if s, ok := d.strs[off]; ok {
		return s, nil
	}
	unit := uint64(1)
	if utf16be {
		unit = 2
	}
	start, n, err := d.span(off, unit)
	if err != nil {
		return "", err
	}
	raw := d.buf[start : start+n]
	s := string(raw)
	if utf16be {
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(raw[2*i:])
		}
		s = string(utf16.Decode(u))
	}
	d.strs[off] = s
	return s, nil
}

// enter refuses a container that is already being decoded further up: a
// cycle, which no reader can expand.
func (d *bplistDecoder) enter(off uint64, depth int) error {
	if err := d.budget.depth(depth + 1); err != nil {
		return err
	}
	for _, p := range d.path {
		if p == off {
			return fmt.Errorf("the container at %d contains itself (a reference cycle)", off)
		}
	}
	d.path = append(d.path, off)
	return nil
}

func (d *bplistDecoder) refs(off uint64, per uint64) ([]uint64, error) {
	start, n, err := d.span(off, per*uint64(d.refSize))
	if err != nil {
		return nil, err
	}
	out := make([]uint64, 0, n/uint64(d.refSize))
	for p := start; p < start+n; p += uint64(d.refSize) {
		r, err := d.uint(p, d.refSize)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *bplistDecoder) array(off uint64, depth int) (any, error) {
	if err := d.enter(off, depth); err != nil {
		return nil, err
	}
	defer func() { d.path = d.path[:len(d.path)-1] }()
	refs, err := d.refs(off, 1)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(refs))
	for i, r := range refs {
		if out[i], err = d.object(r, depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *bplistDecoder) dict(off uint64, depth int) (any, error) {
	if err := d.enter(off, depth); err != nil {
		return nil, err
	}
	defer func() { d.path = d.path[:len(d.path)-1] }()
	refs, err := d.refs(off, 2)
	if err != nil {
		return nil, err
	}
	n := len(refs) / 2
	out := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, err := d.object(refs[i], depth+1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dictionary at %d has a key that is %s, not a string", off, typeName(k))
		}
		if out[key], err = d.object(refs[n+i], depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}
