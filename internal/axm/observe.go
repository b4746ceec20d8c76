package axm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/enrollsim/enrollsim/sim"
)

// ObserveOptions say whose registration to watch and how long.
type ObserveOptions struct {
	Server  string // "" means the first server
	StandIn string // the stand-in's base URL, for reports
	// Wait bounds the wait for the first accepted POST; default 60s.
	Wait time.Duration
	// Withdraw and Restore are the server's admin hooks, POSTed with no
	// body through Doer; both empty skips the configuration-change probe.
	Withdraw, Restore string
	// ChangeWait bounds the wait for the server's answer to each change;
	// default Wait.
	ChangeWait time.Duration
	Doer       sim.Doer
}

// Observe waits for the server to register, runs the change probe when
// hooks are given, and returns everything the stand-in saw of the server.
func (s *Stand) Observe(ctx context.Context, o ObserveOptions) sim.AxMRegistration {
	name := o.Server
	if name == "" {
		name = s.cfg.Servers[0].Name
	}
	if o.Wait <= 0 {
		o.Wait = 60 * time.Second
	}
	if o.ChangeWait <= 0 {
		o.ChangeWait = o.Wait
	}
	reg := sim.AxMRegistration{Server: name, StandIn: o.StandIn}
	s.mu.Lock()
	srv := s.servers[name]
	s.mu.Unlock()
	if srv == nil {
		reg.TimedOut = true
		reg.NoChangeHooks = fmt.Sprintf("the stand-in has no server %q", name)
		return reg
	}
	start := time.Now()
	registered := func() bool { return srv.url != "" }
	reg.TimedOut = !s.waitFor(ctx, o.Wait, 0, func(int) bool { return registered() })
	reg.Waited = time.Since(start)
	switch {
	case o.Withdraw == "" && o.Restore == "":
		reg.NoChangeHooks = "no withdraw/restore hooks were given, so whether the server keeps its registration current was not probed"
	case reg.TimedOut:
		reg.NoChangeHooks = "the server never registered, so there was nothing to withdraw"
	case o.Doer == nil:
		reg.NoChangeHooks = "no HTTP client to call the hooks"
	default:
		for _, ch := range []struct{ kind, hook string }{{sim.AxMWithdraw, o.Withdraw}, {sim.AxMRestore, o.Restore}} {
			if ch.hook == "" {
				continue
			}
			reg.Changes = append(reg.Changes, s.change(ctx, srv, ch.kind, ch.hook, o))
		}
	}
	reg.Calls = s.Calls(name)
	return reg
}

func (s *Stand) change(ctx context.Context, srv *server, kind, hook string, o ObserveOptions) sim.AxMChange {
	s.mu.Lock()
	from := len(srv.calls)
	before := srv.url
	s.mu.Unlock()
	c := sim.AxMChange{Kind: kind, Hook: hook, Triggered: s.cfg.Now()}
	start := time.Now()
	if err := postHook(ctx, o.Doer, hook); err != nil {
		c.HookErr = err.Error()
		return c
	}
	answers := func(call sim.AxMCall) bool {
		if call.Path != ProfilePath || call.Status != http.StatusOK {
			return false
		}
		switch kind {
		case sim.AxMWithdraw:
			return call.Method == http.MethodDelete || call.Method == http.MethodPost && srv.url != before
		default:
			return call.Method == http.MethodPost
		}
	}
	var found *sim.AxMCall
	s.waitFor(ctx, o.ChangeWait, from, func(from int) bool {
		for i := from; i < len(srv.calls); i++ {
			if answers(srv.calls[i]) {
				call := srv.calls[i]
				found = &call
				return true
			}
		}
		return false
	})
	c.Followed, c.Waited = found, time.Since(start)
	return c
}

// waitFor wakes on every call the stand-in logs until cond (run under the
// lock) holds, the wait ends or ctx is done.
func (s *Stand) waitFor(ctx context.Context, wait time.Duration, from int, cond func(from int) bool) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok := cond(from)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func postHook(ctx context.Context, doer sim.Doer, hook string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, nil)
	if err != nil {
		return fmt.Errorf("hook %s: %v", hook, err)
	}
	resp, err := doer.Do(req)
	if err != nil {
		return fmt.Errorf("hook %s: %v", hook, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hook %s answered %d", hook, resp.StatusCode)
	}
	return nil
}
