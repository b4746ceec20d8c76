// Package keys hands out the private keys simulated devices generate for
// their MDM identity. A real device makes a fresh key for its SCEP request;
// RSA-2048 takes about 50 ms on the 2-core machine this was measured on, so a
// run that enrolls many devices draws keys from a Pool that generates them
// ahead of need, in the background, instead of making every device wait.
//
// Every key is handed out once: two simulated devices never share a key,
// since servers may key state on it (SCEP derives the transaction ID from
// the public key's hash).
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
)

// Spec is the kind of key a payload asks for.
type Spec struct {
	// Type is "RSA" or "ECSECPrimeRandom" (Apple's names in the SCEP and
	// ACME payloads).
	Type string
	// Bits is the RSA modulus size or the curve size (256, 384, 521).
	Bits int
}

func (s Spec) String() string { return fmt.Sprintf("%s %d", s.Type, s.Bits) }

// Limits on what a payload may ask for: a hostile profile must not make the
// simulator spend minutes on one key.
const (
	MinRSABits = 1024
	MaxRSABits = 4096
)

// Validate says whether the simulator can make a key of this kind.
func (s Spec) Validate() error {
	switch s.Type {
	case "RSA":
		if s.Bits < MinRSABits || s.Bits > MaxRSABits || s.Bits%8 != 0 {
			return fmt.Errorf("RSA key size %d: want a multiple of 8 from %d to %d", s.Bits, MinRSABits, MaxRSABits)
		}
		return nil
	case "ECSECPrimeRandom":
		if curve(s.Bits) == nil {
			return fmt.Errorf("ECSECPrimeRandom key size %d: want 256, 384 or 521", s.Bits)
		}
		return nil
	}
	return fmt.Errorf("key type %q: want RSA or ECSECPrimeRandom", s.Type)
}

func curve(bits int) elliptic.Curve {
	switch bits {
	case 256:
		return elliptic.P256()
	case 384:
		return elliptic.P384()
	case 521:
		return elliptic.P521()
	}
	return nil
}

// Generate makes one key now.
func Generate(s Spec) (crypto.Signer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Type == "RSA" {
		return rsa.GenerateKey(rand.Reader, s.Bits)
	}
	return ecdsa.GenerateKey(curve(s.Bits), rand.Reader)
}

// Pool keeps up to Ahead keys of each kind asked for ready. The zero value
// is a pool that keeps none ready (every Get generates), safe to use.
type Pool struct {
	// Ahead is how many keys of each kind to keep ready.
	Ahead int
	// Reuse, when above zero, makes the pool generate only this many keys
	// of each kind and hand them out in turn. Only for servers that key
	// no state on a device's key, such as enrollsim's own reference
	// server: generating keys was two thirds of the CPU of a test run.
	Reuse int

	reused map[Spec][]crypto.Signer
	next   map[Spec]int
	making map[Spec]int           // reused keys being generated
	landed map[Spec]chan struct{} // closed when a reused key is added

	mu     sync.Mutex
	ready  map[Spec][]crypto.Signer
	filler map[Spec]bool // a goroutine is generating keys of this kind
	wg     sync.WaitGroup
	// made counts keys generated, for tests and the load report.
	made, served, waited int
}

// Get returns a fresh key of kind s: one generated ahead when there is one,
// else one generated now. Either way the pool then refills in the
// background. The context bounds the wait for a key generated now.
func (p *Pool) Get(ctx context.Context, s Spec) (crypto.Signer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.served++
	if p.Reuse > 0 {
		return p.getReused(ctx, s)
	}
	if k := p.pop(s); k != nil {
		p.refill(s)
		p.mu.Unlock()
		return k, nil
	}
	p.waited++
	p.refill(s)
	p.mu.Unlock()

	type made struct {
		k   crypto.Signer
		err error
	}
	ch := make(chan made, 1)
	go func() {
		k, err := Generate(s)
		ch <- made{k, err}
	}()
	select {
	case m := <-ch:
		if m.err == nil {
			p.mu.Lock()
			p.made++
			p.mu.Unlock()
		}
		return m.k, m.err
	case <-ctx.Done():
		return nil, fmt.Errorf("generating a %s key: %w", s, ctx.Err())
	}
}

// getReused hands out the reused keys of kind s in turn, generating them
// first. At most Reuse keys are ever generated: when 200 devices start at
// once, each used to generate a key of its own before the first four
// landed, a second of CPU in a 500-device load. A device that finds all of
// them being generated and none ready waits for the first. Called with
// p.mu held; returns with it released.
func (p *Pool) getReused(ctx context.Context, s Spec) (crypto.Signer, error) {
	for {
		ks := p.reused[s]
		if n := len(ks); n >= p.Reuse || (n > 0 && n+p.making[s] >= p.Reuse) {
			if p.next == nil {
				p.next = map[Spec]int{}
			}
			k := ks[p.next[s]%n]
			p.next[s]++
			p.mu.Unlock()
			return k, nil
		}
		if len(ks)+p.making[s] < p.Reuse {
			return p.makeReused(s)
		}
		if p.landed == nil {
			p.landed = map[Spec]chan struct{}{}
		}
		ch := p.landed[s]
		if ch == nil {
			ch = make(chan struct{})
			p.landed[s] = ch
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a %s key: %w", s, ctx.Err())
		}
		p.mu.Lock()
	}
}

// makeReused generates one of the reused keys. Called with p.mu held;
// returns with it released.
func (p *Pool) makeReused(s Spec) (crypto.Signer, error) {
	if p.making == nil {
		p.making = map[Spec]int{}
	}
	p.making[s]++
	p.mu.Unlock()
	k, err := Generate(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.making[s]--
	if ch := p.landed[s]; ch != nil {
		// Waiters look again: at a key, or at room to generate one
		// when this generation failed.
		close(ch)
		delete(p.landed, s)
	}
	if err != nil {
		return nil, err
	}
	p.made++
	if p.reused == nil {
		p.reused = map[Spec][]crypto.Signer{}
	}
	p.reused[s] = append(p.reused[s], k)
	return k, nil
}

func (p *Pool) pop(s Spec) crypto.Signer {
	ks := p.ready[s]
	if len(ks) == 0 {
		return nil
	}
	k := ks[len(ks)-1]
	p.ready[s] = ks[:len(ks)-1]
	return k
}

// refill starts the kind's filler unless it runs or the pool keeps none
// ahead. The filler stops once Ahead keys are ready, so an idle pool holds
// no goroutine. Called with p.mu held.
func (p *Pool) refill(s Spec) {
	if p.Ahead <= 0 || p.filler[s] || len(p.ready[s]) >= p.Ahead {
		return
	}
	if p.filler == nil {
		p.filler = map[Spec]bool{}
	}
	p.filler[s] = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			k, err := Generate(s)
			p.mu.Lock()
			if err != nil {
				p.filler[s] = false
				p.mu.Unlock()
				return
			}
			p.made++
			if p.ready == nil {
				p.ready = map[Spec][]crypto.Signer{}
			}
			p.ready[s] = append(p.ready[s], k)
			if len(p.ready[s]) >= p.Ahead {
				p.filler[s] = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}()
}

// Warm generates n keys of kind s ahead now and waits for them, so a load
// run's first devices do not wait on key generation.
func (p *Pool) Warm(ctx context.Context, s Spec, n int) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for {
		p.mu.Lock()
		have := len(p.ready[s])
		p.mu.Unlock()
		if have >= n {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := Generate(s)
		if err != nil {
			return err
		}
		p.mu.Lock()
		if p.ready == nil {
			p.ready = map[Spec][]crypto.Signer{}
		}
		p.ready[s] = append(p.ready[s], k)
		p.made++
		p.mu.Unlock()
	}
}

// Wait blocks until no filler runs: for tests that count goroutines.
func (p *Pool) Wait() { p.wg.Wait() }

// Stats says how many keys the pool generated, handed out, and handed out
// only after generating them on the spot.
func (p *Pool) Stats() (made, served, waited int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.made, p.served, p.waited
}

// Default is the process's pool: it keeps two keys of each kind ahead,
// enough to hide generation behind a case's sign-in without holding
// goroutines once a run ends.
var Default = &Pool{Ahead: 2}

// Reused is the pool for enrollsim's own reference server, which keys no
// state on device keys: four keys of each kind, handed out in turn. Never
// use it against a deployed server, where two devices with one key may
// collide (SCEP transaction IDs are derived from the key).
var Reused = &Pool{Reuse: 4}
