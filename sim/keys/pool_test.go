package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		err  string
	}{
		{Spec{"RSA", 2048}, ""},
		{Spec{"RSA", 1024}, ""},
		{Spec{"RSA", 4096}, ""},
		{Spec{"RSA", 512}, "RSA key size 512: want a multiple of 8 from 1024 to 4096"},
		{Spec{"RSA", 1 << 20}, "RSA key size 1048576"},
		{Spec{"RSA", 2049}, "RSA key size 2049"},
		{Spec{"ECSECPrimeRandom", 256}, ""},
		{Spec{"ECSECPrimeRandom", 384}, ""},
		{Spec{"ECSECPrimeRandom", 255}, "ECSECPrimeRandom key size 255: want 256, 384 or 521"},
		{Spec{"DSA", 1024}, `key type "DSA": want RSA or ECSECPrimeRandom`},
	} {
		err := tc.spec.Validate()
		if tc.err == "" {
			assert.NoError(t, err, tc.spec)
		} else {
			assert.ErrorContains(t, err, tc.err, tc.spec)
		}
	}
}

func TestGetGivesKeysOfTheKindAskedFor(t *testing.T) {
	var p Pool // the zero value generates on the spot
	k, err := p.Get(context.Background(), Spec{"RSA", 1024})
	require.NoError(t, err)
	assert.Equal(t, 1024, k.(*rsa.PrivateKey).N.BitLen())
	k, err = p.Get(context.Background(), Spec{"ECSECPrimeRandom", 384})
	require.NoError(t, err)
	assert.Equal(t, "P-384", k.(*ecdsa.PrivateKey).Curve.Params().Name)
	_, err = p.Get(context.Background(), Spec{"RSA", 100})
	assert.ErrorContains(t, err, "RSA key size 100")
	made, served, waited := p.Stats()
	assert.Equal(t, []int{2, 2, 2}, []int{made, served, waited})
}

// Keys come from the ready stock once warmed, each one once.
func TestPoolHandsOutEachKeyOnce(t *testing.T) {
	p := &Pool{Ahead: 4}
	s := Spec{"ECSECPrimeRandom", 256}
	require.NoError(t, p.Warm(context.Background(), s, 4))
	seen := map[string]bool{}
	for range 12 {
		k, err := p.Get(context.Background(), s)
		require.NoError(t, err)
		x := k.(*ecdsa.PrivateKey).D.String()
		assert.False(t, seen[x], "a key was handed out twice")
		seen[x] = true
	}
	p.Wait()
	p.mu.Lock()
	ready := len(p.ready[s])
	p.mu.Unlock()
	assert.Equal(t, 4, ready, "the pool refills to Ahead, and no further")
	made, served, waited := p.Stats()
	assert.Equal(t, 12, served)
	assert.Equal(t, made, 12+ready)
	assert.Less(t, waited, 12, "some keys came from the stock")
}

func TestGetStopsWithItsContext(t *testing.T) {
	var p Pool
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := p.Get(ctx, Spec{"RSA", 4096})
	// A key may be ready before the select sees the cancellation, but an
	// RSA-4096 key takes far longer than the cancelled context.
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
}

// BenchmarkGenerate is what a device waits for when the pool has no key
// ready: the cost the pool hides behind a case's sign-in.
func BenchmarkGenerate(b *testing.B) {
	for _, s := range []Spec{{"RSA", 2048}, {"ECSECPrimeRandom", 256}} {
		b.Run(s.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestReusingPoolGeneratesOnlyItsShare(t *testing.T) {
	p := &Pool{Reuse: 2}
	s := Spec{"ECSECPrimeRandom", 256}
	seen := map[string]int{}
	for range 10 {
		k, err := p.Get(context.Background(), s)
		require.NoError(t, err)
		seen[k.(*ecdsa.PrivateKey).D.String()]++
	}
	assert.Len(t, seen, 2)
	made, served, _ := p.Stats()
	assert.Equal(t, 2, made)
	assert.Equal(t, 10, served)
}

// A load's devices start together: all of them asking before the first
// key lands must still make the pool generate only its share (it made one
// key per device until the first landed).
func TestReusingPoolGeneratesOnlyItsShareWhenAllAskAtOnce(t *testing.T) {
	p := &Pool{Reuse: 4}
	s := Spec{"RSA", 1024}
	const devices = 50
	var start, done sync.WaitGroup
	start.Add(1)
	keys := make([]crypto.Signer, devices)
	errs := make([]error, devices)
	for i := range devices {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			keys[i], errs[i] = p.Get(context.Background(), s)
		}()
	}
	start.Done()
	done.Wait()
	seen := map[string]int{}
	for i := range devices {
		require.NoError(t, errs[i])
		seen[keys[i].(*rsa.PrivateKey).N.String()]++
	}
	made, served, _ := p.Stats()
	assert.Equal(t, 4, made)
	assert.Equal(t, devices, served)
	assert.Len(t, seen, 4)
}

func TestReusingPoolWaitBoundByContext(t *testing.T) {
	p := &Pool{Reuse: 1}
	s := Spec{"RSA", 1024}
	p.mu.Lock()
	p.making = map[Spec]int{s: 1} // another device is generating the only key
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Get(ctx, s)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "waiting for a RSA 1024 key")
}
