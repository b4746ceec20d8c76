package profile

import (
	"context"
	"fmt"
)

// checkBER walks the first BER/DER value of b without building anything, so
// that github.com/smallstep/pkcs7 (whose BER-to-DER conversion recurses once
// per nesting level, without a limit) only ever sees a message of bounded
// depth and size. Lengths must fit the enclosing value; indefinite lengths
// must be closed.
func checkBER(ctx context.Context, b []byte, lim Limits) error {
	bud := budget{ctx: ctx, lim: lim, what: "CMS message", cause: "hostile ASN.1"}
	type frame struct {
		end        int // where a definite-length value ends
		indefinite bool
	}
	var stack []frame
	pos := 0
	for first := true; first || len(stack) > 0; first = false {
		// Close every value that ends here.
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.indefinite && pos+1 < len(b) && b[pos] == 0 && b[pos+1] == 0 {
				pos += 2
			} else if !top.indefinite && pos == top.end {
			} else {
				break
			}
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && !stack[len(stack)-1].indefinite && pos > stack[len(stack)-1].end {
				return fmt.Errorf("malformed CMS SignedData: a value at %d runs past its container", pos)
			}
		}
		if len(stack) == 0 && !first {
			return nil
		}
		if err := bud.take(); err != nil {
			return err
		}
		limit := len(b)
		for i := len(stack) - 1; i >= 0; i-- {
			if !stack[i].indefinite {
				limit = stack[i].end
				break
			}
		}
		start := pos
		if pos >= limit {
			return fmt.Errorf("malformed CMS SignedData: the message ends inside a value at %d", pos)
		}
		constructed := b[pos]&0x20 != 0
		if b[pos]&0x1f == 0x1f {
			for n := 0; ; n++ {
				pos++
				if pos >= limit || n > 4 {
					return fmt.Errorf("malformed CMS SignedData: bad tag at %d", start)
				}
				if b[pos] < 0x80 {
					break
				}
			}
		}
		pos++
		if pos >= limit {
			return fmt.Errorf("malformed CMS SignedData: no length for the value at %d", start)
		}
		l := int(b[pos])
		pos++
		switch {
		case l == 0x80:
			if !constructed {
				return fmt.Errorf("malformed CMS SignedData: indefinite length on a primitive value at %d", start)
			}
			if err := bud.depth(len(stack) + 1); err != nil {
				return err
			}
			stack = append(stack, frame{indefinite: true})
			continue
		case l > 0x84:
			return fmt.Errorf("malformed CMS SignedData: a length of %d bytes at %d", l&0x7f, start)
		case l > 0x80:
			n := l & 0x7f
			if pos+n > limit {
				return fmt.Errorf("malformed CMS SignedData: the length at %d runs past the end", start)
			}
			l = 0
			for _, c := range b[pos : pos+n] {
				l = l<<8 | int(c)
			}
			pos += n
		}
		if l < 0 || l > limit-pos {
			return fmt.Errorf("malformed CMS SignedData: the value at %d claims %d bytes, only %d remain", start, l, limit-pos)
		}
		if constructed {
			if err := bud.depth(len(stack) + 1); err != nil {
				return err
			}
			stack = append(stack, frame{end: pos + l})
			continue
		}
		pos += l
	}
	return nil
}

// CheckCMS refuses a CMS (or other ASN.1) message deeper, larger or with
// more values than lim allows, before a parser that trusts its input sees
// it: for what a server sends besides the profile (a SCEP reply, a CA
// chain).
func CheckCMS(ctx context.Context, b []byte, lim Limits) error {
	return checkBER(ctx, b, lim.withDefaults())
}
