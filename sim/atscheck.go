package sim

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
)

// tlsProber is a Doer that learns from handshakes alone what a device on
// the 27 releases would refuse of a host (internal/transport's Client).
type tlsProber interface {
	Strict27Findings(ctx context.Context, u *url.URL) ([]ats.Finding, bool)
}

// outlook27 remembers a prober's answer per host for a minute: one look
// serves every case of a run (a load plays thousands against one server),
// and a long-lived process still sees a server's changed settings.
var outlook27 sync.Map // outlookKey → outlookEntry

type outlookKey struct {
	prober tlsProber
	host   string
}

type outlookEntry struct {
	at       time.Time
	findings []ats.Finding
}

const outlookTTL = time.Minute

// observeATS is what the TLS rules of the device's OS say of every host
// it connected to (SCEP excluded). A 27 device's own transport refuses
// what breaks them, so its findings come from the refusals; an older
// device connected, and what a 27 device would refuse of the same hosts
// is learnt from a handshake that offers what a 27 device offers (one per
// host and run) or, without a prober, from what this connection
// negotiated.
func (r *runner) observeATS() []check.TLSHost {
	policy := r.c.Device.TLSPolicy()
	var out []check.TLSHost
	seen := map[string]bool{}
	for _, d := range r.deviceResps {
		u := d.resp.url
		if d.classicTLS || u == nil || u.Scheme != "https" || seen[u.Host] {
			continue
		}
		var fs []ats.Finding
		if refused, ok := ats.Refused(d.resp.err); ok {
			fs = refused.Findings
		} else if d.resp.tls != nil {
			fs = ats.Judge(d.resp.tls)
			if policy == ats.Classic {
				fs = r.outlook27(u, fs)
			}
		} else {
			continue // no handshake with this host yet
		}
		seen[u.Host] = true
		h := check.TLSHost{Host: u.Hostname()}
		for _, f := range fs {
			h.Findings = append(h.Findings, check.TLSFinding{Rule: string(f.Rule), Detail: f.Detail, Refused: f.Applies(policy), Always: f.Always})
		}
		out = append(out, h)
	}
	return out
}

// outlook27 is what a 27 device would refuse of u's host, for a device
// that connected under the classic rules: the prober's answer when the
// Doer has one (the negotiated suite alone may be the server's preference
// among several, some of which a 27 device would take), else fs.
func (r *runner) outlook27(u *url.URL, fs []ats.Finding) []ats.Finding {
	p, ok := r.doer().(tlsProber)
	if !ok {
		return fs
	}
	key := outlookKey{p, u.Host}
	now := time.Now()
	if v, ok := outlook27.Load(key); ok && now.Sub(v.(outlookEntry).at) < outlookTTL {
		return v.(outlookEntry).findings
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.lim.Timeout)
	defer cancel()
	found, ok := p.Strict27Findings(ctx, u)
	if !ok {
		return fs
	}
	outlook27.Store(key, outlookEntry{at: now, findings: found})
	return found
}
