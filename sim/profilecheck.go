package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// readProfile parses the body under the run's limit and context. A body
// cut at the read cap is not parsed at all: its end is missing, and the
// cap is the simulator's, so the error names the limit.
func readProfile(ctx context.Context, resp *response, limit int64) (p *profile.Profile, overLimit bool, err error) {
	if resp.tooLarge {
		return nil, true, fmt.Errorf("the profile is larger than the simulator's %s read limit; a device-facing profile should stay within %s (SEC-003)",
			byteSize(limit), byteSize(secProfileBound))
	}
	p, err = profile.ParseContext(ctx, resp.body, profile.Limits{MaxBytes: limit})
	return p, errors.Is(err, profile.ErrLimit), err
}

// profileStep is step 13 (§2.11): the device reads the profile and cancels
// on anything account-driven enrollment forbids. The step reads the
// profile and records its facts; package check judges them (PROF, and
// TOK-008 between PROF-006 and PROF-007).
func (r *runner) profileStep() (*stop, event.StepStatus, string) {
	es := r.enroll
	resp := es.second
	p, overLimit, err := readProfile(r.ctx, resp, r.lim.ProfileBody)
	account := r.c.Account.ManagedAppleID
	if account == "" {
		account = r.c.Account.Identifier
	}
	o := &check.Profile{Version: r.discovery.version, BaseURL: r.discovery.baseURL, Account: account,
		Family: string(r.c.Device.Family), Platform: r.c.Device.Family.Platform(), UESchema: profile.UserEnrollmentSchemaCommit()}
	// The first of repeated Content-Types is judged; the repeats are noted.
	o.ContentType, o.Repeated = singleHeader(resp.header, "Content-Type")
	if p != nil {
		// The SCEP challenge is a credential: whoever holds it gets an
		// identity for this enrollment. Events from here on never show it.
		for _, c := range recordProfile(o, p) {
			r.red.Add(c)
		}
	}
	if err != nil {
		o.ReadError, o.OverLimit = err.Error(), overLimit
	}
	r.obs.Profile = o
	r.judging(resp)
	head, tok, body := check.ProfileHead(o), check.ProfileToken(o), check.ProfileBody(o)
	r.judged(head)
	r.judged(tok)
	r.judged(body)

	switch {
	case err != nil && r.ctx.Err() != nil:
		// Interrupted mid-parse: the engine reports a tripped verdict as
		// not judged, since the tester stopped, not the server.
		return &stop{event.OutcomeInterrupted, err.Error()}, event.StepError, err.Error()
	case err != nil && overLimit:
		// The simulator's own limit: it could not judge the profile.
		// SEC-003 says what the limit says about the server (judgeTransport
		// already sees a body over the read cap).
		if !resp.tooLarge {
			r.limitIssues = append(r.limitIssues, "the profile: "+err.Error())
		}
		return &stop{event.OutcomeError, "the profile could not be read: " + err.Error()}, event.StepError, err.Error()
	case err != nil:
		return &stop{event.OutcomeProfileRejected, "the profile does not parse: " + err.Error()}, event.StepFailed, err.Error()
	}
	es.profile = p
	if len(p.MDM()) == 0 {
		return &stop{event.OutcomeProfileRejected, "the profile has no com.apple.mdm payload"}, event.StepFailed, "no MDM payload"
	}
	if cancel := check.ProfileCancels(head, body); len(cancel) > 0 {
		msg := "the device cancels the enrollment: " + strings.Join(cancel, "; ")
		return &stop{event.OutcomeProfileRejected, msg}, event.StepFailed, msg
	}
	mode, _ := p.MDM()[0].String("EnrollmentMode")
	assigned, _ := p.MDM()[0].String("AssignedManagedAppleID")
	return nil, event.StepOK, fmt.Sprintf("%s profile for %s, %d payloads, %s", mode, assigned, len(p.Payloads), map[bool]string{true: "signed", false: "unsigned"}[p.Signed])
}

// recordProfile records in o what the checks read of p, and returns the
// SCEP payloads' challenges.
func recordProfile(o *check.Profile, p *profile.Profile) (challenges []string) {
	o.Problems = p.Problems
	o.Signed, o.Signer, o.SignatureOK, o.SignatureError = p.Signed, p.Signer, p.SignatureOK, p.SignatureError
	for _, pl := range p.Payloads {
		fp := check.ProfilePayload{Type: pl.Type, UUID: pl.UUID}
		if mode, known := profile.UserEnrollmentMode(pl.Type, o.Platform); known {
			fp.UserEnrollment = mode
		}
		o.Payloads = append(o.Payloads, fp)
		switch pl.Type {
		case "com.apple.security.scep":
			if c, ok := pl.Dict.Dict("PayloadContent"); ok {
				if v, ok := c.String("Challenge"); ok {
					challenges = append(challenges, v)
				}
			}
		case "com.apple.security.acme":
			o.ACME = append(o.ACME, acmeFacts(pl.Dict))
		}
	}
	if mdms := p.MDM(); len(mdms) > 0 {
		o.MDM = check.PlistDict{}
		for _, k := range check.ProfileMDMKeys {
			if mdms[0].Has(k) {
				o.MDM[k] = plistValue(mdms[0].Dict, k)
			}
		}
	}
	return challenges
}

// acmeFacts is what PROF-015 reads of an ACME payload.
func acmeFacts(d profile.Dict) check.ACMEPayload {
	var a check.ACMEPayload
	a.HardwareBound, _ = d.Bool("HardwareBound")
	a.Attest, _ = d.Bool("Attest")
	a.KeyType, _ = d.String("KeyType")
	a.KeySize, _ = d.Int("KeySize")
	a.DirectoryURL, _ = d.String("DirectoryURL")
	return a
}

// plistValue records key of d (present) in the forms the checks compare.
func plistValue(d profile.Dict, key string) check.PlistValue {
	v := check.PlistValue{Text: describeKey(d, key)}
	if s, ok := d.String(key); ok {
		v.Str = &s
	}
	if n, ok := d.Int(key); ok {
		v.Int = &n
	}
	v.Strings, _ = d.Strings(key)
	return v
}

// describeKey quotes key's value for a finding: a string in quotes,
// anything else with its Go type, which tells an integer from a real.
func describeKey(d profile.Dict, key string) string {
	v, ok := d[key]
	if !ok {
		return "missing"
	}
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	default:
		s = fmt.Sprintf("%v (%T)", v, v)
	}
	// A hostile value (a 100,000-element array) must not become the text
	// of a finding.
	if len(s) > maxDescribed {
		s = fmt.Sprintf("%s… (%d bytes in all)", strings.ToValidUTF8(s[:maxDescribed], ""), len(s))
	}
	return s
}

// maxDescribed caps the text describeKey gives for one value.
const maxDescribed = 200
