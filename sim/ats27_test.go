package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Each TLS rule of Apple's devices, broken by one fault of the reference
// server: a 27 device refuses the server there (its check fails and the
// case does not enroll), an older device connects and the same finding
// warns of the 27 devices, except for the certificate rules every device
// has applied since iOS 13, which fail on both.
func TestTLSRulesFollowTheOS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault, check string
		on27, on26   check.Status
		enroll26     bool
		actual       string
	}{
		{"tls12-cbc-only", "SEC-004", check.Fail, check.Warn, true, "TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: not an ATS suite (CBC, not AES-GCM)"},
		{"tls12-no-ems", "SEC-005", check.Fail, check.Warn, true, "TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 without the Extended Master Secret extension (RFC 7627)"},
		{"tls-rsa-1024", "SEC-006", check.Fail, check.Fail, false, "the server certificate has a 1024-bit RSA key"},
		{"tls-sha1-cert", "SEC-006", check.Fail, check.Fail, false, "the server certificate is signed with ECDSA-SHA1"},
		{"tls-ecdsa-224-ca", "SEC-006", check.Fail, check.Warn, true, `issuing CA "Acme P-224 issuing CA (enrollsim)" has a 224-bit ECDSA key (27 devices need 256 bits or more)`},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			r := startRef(t, 5*time.Second, tt.fault)
			c27 := caseFor(t, "iphone@27.0", "alice@acme.test", sim.TypeUser)
			c26 := caseFor(t, "iphone@26.1", "alice@acme.test", sim.TypeUser)
			c27.Until, c26.Until = event.UntilProfile, event.UntilProfile
			reps, _ := play(t, r, 5*time.Second, c27, c26)
			rep27, rep26 := reps[0], reps[1]

			res := resultOf(rep27, tt.check)
			assert.Equal(t, tt.on27, res.Status, describe(rep27))
			assert.Contains(t, res.Actual, "mdm.acme.test: "+tt.actual)
			assert.NotEqual(t, event.OutcomeEnrolled, rep27.Outcome, "a 27 device refuses the server")
			assert.Contains(t, rep27.Message, "refuses mdm.acme.test", "the case names the refusal")
			for _, r := range rep27.Results {
				assert.NotEqual(t, check.Error, r.Status, "%s: a refusal by the device is no reason the tester could not judge: %s", r.ID, r.Detail)
			}

			res = resultOf(rep26, tt.check)
			assert.Equal(t, tt.on26, res.Status, describe(rep26))
			assert.Contains(t, res.Actual, "mdm.acme.test: "+tt.actual)
			if tt.enroll26 {
				assert.Equal(t, event.OutcomeEnrolled, rep26.Outcome, describe(rep26))
				assert.Contains(t, res.Actual, "this iOS 26.1 device connects, but devices on the 27 releases")
				assert.Equal(t, []string{tt.check}, tripped(rep26), "only the TLS rule warns")
			} else {
				assert.Contains(t, res.Actual, "since iOS 13")
			}
		})
	}
}

// The conforming server passes every TLS rule on 27 devices of every
// family, SCEP included (its exemption is not needed there).
func TestConformingServerPassesTheTLSRulesOf27(t *testing.T) {
	t.Parallel()
	r := startRef(t, 5*time.Second)
	var cases []sim.Case
	for _, ref := range []string{"iphone@27.0", "ipad@27.0", "mac@27.0", "vision@27.0"} {
		cases = append(cases, caseFor(t, ref, "alice@acme.test", sim.TypeUser), caseFor(t, ref, "carol@acme.test", sim.TypeDevice))
	}
	reps, _ := play(t, r, 5*time.Second, cases...)
	for i, rep := range reps {
		assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, cases[i].Name+describe(rep))
		assert.Empty(t, tripped(rep), cases[i].Name+describe(rep))
		for _, id := range []string{"SEC-004", "SEC-005", "SEC-006"} {
			assert.Equal(t, check.Pass, resultOf(rep, id).Status, cases[i].Name+" "+id)
		}
	}
}
