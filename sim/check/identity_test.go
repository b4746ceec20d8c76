package check

import (
	"encoding/json"
	"testing"
)

// idStatus is one expected result: a check and its status.
type idStatus struct {
	id string
	st Status
}

// assertVerdicts compares v's results, in order, with want; nil v is no
// results.
func assertVerdicts(t *testing.T, name string, v *Verdicts, want []idStatus) {
	t.Helper()
	var got []idStatus
	if v != nil {
		if m := v.Missing(); len(m) > 0 {
			t.Errorf("%s: no result for %v", name, m)
		}
		for _, r := range v.Results {
			got = append(got, idStatus{r.ID, r.Status})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", name, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: result %d is %v, want %v (all: %v)", name, i, got[i], want[i], got)
		}
	}
}

// roundTrip saves o as JSON and reads it back, as the saved observations
// are.
func roundTrip[T any](t *testing.T, o T) T {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func all(st Status, ids ...string) []idStatus {
	var out []idStatus
	for _, id := range ids {
		out = append(out, idStatus{id, st})
	}
	return out
}

func TestJudgeIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Identity
		chk001  Status
		blocked bool
	}{
		{"issued", Identity{Issued: `issued "d" by "ca", RSA 2048`, CaseGoesOn: true}, Pass, false},
		{"the server's failure", Identity{Finding: "PKIOperation: FAILURE", Expected: "a certificate", CaseGoesOn: true}, Fail, true},
		{"the tester's limit", Identity{Error: "GetCACaps: timeout", CaseGoesOn: true}, Error, true},
		{"a PKCS#12 identity", Identity{Skip: "an embedded PKCS#12", CaseGoesOn: true}, Skip, true},
		{"a case that stops at the identity", Identity{Finding: "PKIOperation: FAILURE"}, Fail, false},
	} {
		o := roundTrip(t, tc.o)
		assertVerdicts(t, tc.name, JudgeIdentity(o), []idStatus{{"CHK-001", tc.chk001}})
		var chk, tok []idStatus
		if tc.blocked {
			chk, tok = all(Error, identityBlocksCHK...), all(Error, identityBlocksTOK...)
		}
		assertVerdicts(t, tc.name+" (CHK blocked)", JudgeIdentityBlocksCHK(o), chk)
		assertVerdicts(t, tc.name+" (TOK blocked)", JudgeIdentityBlocksTOK(o), tok)
	}
	v := JudgeIdentityBlocksCHK(Identity{Finding: "x", CaseGoesOn: true})
	if d := v.Results[0].Detail; d != "blocked: no identity certificate (the SCEP endpoint issued no certificate (CHK-001))" {
		t.Errorf("blocked detail %q", d)
	}
}
