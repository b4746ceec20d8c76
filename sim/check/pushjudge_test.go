package check

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// pushLife is a push route with two TokenUpdates (t0 answered at 1 s, t1
// at 3 s) and the pushes ps.
func pushLife(ps ...Push) PushLife {
	at := func(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }
	for i := range ps {
		if ps[i].At.IsZero() {
			ps[i].At = at(5)
		}
	}
	return PushLife{
		Topic: "com.apple.mgmt.External.t",
		Tokens: []PushToken{
			{Token: "aa01", Magic: "m1", Sent: at(0.5), Answered: at(1), OK: true},
			{Token: "bb02", Magic: "m2", Sent: at(2.5), Answered: at(3), OK: true},
		},
		Pushes: ps,
	}
}

func good() Push {
	return Push{Token: "bb02", Magic: "m2", Topic: "com.apple.mgmt.External.t", CertUID: "com.apple.mgmt.External.t", PushType: "mdm", Status: 200}
}

func with(f func(*Push)) Push {
	p := good()
	f(&p)
	return p
}

func TestJudgePushes(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }
	storm := make([]Push, StormLimit+1)
	for i := range storm {
		storm[i] = with(func(p *Push) { p.At = at(5 + float64(i)) })
	}
	loop := pushLife(good())
	for range LoopLimit {
		loop.Connects = append(loop.Connects, PushWake{At: at(6), Route: RoutePush})
	}
	noPushButQueued := pushLife()
	noPushButQueued.Connects = []PushWake{{Route: RouteLastLook, Command: "DeviceInformation"}}
	for _, tt := range []struct {
		name string
		life PushLife
		want []string
	}{
		{"a conforming push", pushLife(good()), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"no topic header: the certificate's is used", pushLife(with(func(p *Push) { p.Topic = "" })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"the first token after a newer one", pushLife(with(func(p *Push) { p.Token = "aa01" })), []string{"PUSH-001 fail", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"the first token while the newer was in flight", pushLife(with(func(p *Push) { p.Token, p.Magic, p.At = "aa01", "m1", at(2.7) })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"the first token before the newer one", pushLife(with(func(p *Push) { p.Token, p.Magic, p.At = "aa01", "m1", at(2) })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"a stale PushMagic", pushLife(with(func(p *Push) { p.Magic = "m1" })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 fail", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"no mdm key", pushLife(with(func(p *Push) { p.Magic, p.Payload = "", `{"aps":{}}` })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 fail", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"a wrong topic", pushLife(with(func(p *Push) { p.Topic, p.Status, p.Reason = "com.other", 400, "TopicDisallowed" })), []string{"PUSH-001 pass", "PUSH-002 fail", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"a certificate of another topic", pushLife(with(func(p *Push) { p.Topic, p.CertUID = "", "com.other" })), []string{"PUSH-001 pass", "PUSH-002 fail", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 pass"}},
		{"no push type", pushLife(with(func(p *Push) { p.PushType = "" })), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 warn", "PUSH-005 pass", "PUSH-006 pass"}},
		{"a push loop", loop, []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 warn", "PUSH-006 pass"}},
		{"a storm", pushLife(storm...), []string{"PUSH-001 pass", "PUSH-002 pass", "PUSH-003 pass", "PUSH-004 pass", "PUSH-005 pass", "PUSH-006 warn"}},
		{"no push, nothing queued", pushLife(), []string{"PUSH-001 skip", "PUSH-002 skip", "PUSH-003 skip", "PUSH-004 skip", "PUSH-005 skip", "PUSH-006 skip"}},
		{"no push, but commands found by a last look", noPushButQueued, []string{"PUSH-001 warn", "PUSH-002 skip", "PUSH-003 skip", "PUSH-004 skip", "PUSH-005 skip", "PUSH-006 skip"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, got(JudgePushes(tt.life)))
		})
	}
}

// A storm spread over more than a minute, or broken by a connect, is no
// storm.
func TestPushStormNeedsAMinuteWithoutConnect(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }
	var spread, broken []Push
	for i := range StormLimit + 1 {
		spread = append(spread, with(func(p *Push) { p.At = at(5 + 7*float64(i)) }))
		broken = append(broken, with(func(p *Push) { p.At = at(5 + float64(i)) }))
	}
	life := pushLife(broken...)
	life.Connects = []PushWake{{At: at(10), Route: RoutePush, Command: "DeviceInformation"}}
	assert.Contains(t, got(JudgePushes(pushLife(spread...))), "PUSH-006 pass")
	assert.Contains(t, got(JudgePushes(life)), "PUSH-006 pass")
}
