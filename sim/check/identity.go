package check

// The checks that need the identity certificate: when it cannot be
// obtained they cannot be judged (CHK-001's rule), so the identity step
// gives them their reason in its own group order (CHK, then TOK).
var (
	identityBlocksCHK = []string{"CHK-002", "CHK-003", "CHK-004", "CHK-005", "CHK-006", "CHK-007", "CHK-008",
		"CHK-009", "CHK-010", "CHK-011", "CHK-012"}
	identityBlocksTOK = []string{"TOK-004", "TOK-005", "TOK-006", "TOK-007", "TOK-009"}
)

func init() {
	register(Judge{Group: "CHK", Reads: "identity", Owns: []string{"CHK-001"}, Run: func(o *Observations) *Verdicts {
		if o.Identity == nil {
			return nil
		}
		return JudgeIdentity(*o.Identity)
	}})
	register(Judge{Group: "CHK", Reads: "identity (what it blocks)", Owns: identityBlocksCHK, Run: func(o *Observations) *Verdicts {
		if o.Identity == nil {
			return nil
		}
		return JudgeIdentityBlocksCHK(*o.Identity)
	}})
	register(Judge{Group: "TOK", Reads: "identity (what it blocks)", Owns: identityBlocksTOK, Run: func(o *Observations) *Verdicts {
		if o.Identity == nil {
			return nil
		}
		return JudgeIdentityBlocksTOK(*o.Identity)
	}})
}

// JudgeIdentity is CHK-001: the SCEP endpoint issued a certificate for the
// device's CSR.
func JudgeIdentity(o Identity) *Verdicts {
	v := NewVerdicts("CHK-001")
	switch {
	case o.Skip != "":
		v.Skip("CHK-001", o.Skip)
	case o.Error != "":
		v.Error("CHK-001", o.Error)
	case o.Finding != "":
		v.Check("CHK-001", false, o.Expected, o.Finding)
	default:
		v.Add(With("CHK-001", Pass, o.Issued))
	}
	return v
}

// JudgeIdentityBlocksCHK gives the CHK checks after the identity their
// error when there is none and the case would have gone on; nil otherwise.
func JudgeIdentityBlocksCHK(o Identity) *Verdicts {
	return identityBlocks(o, identityBlocksCHK)
}

// JudgeIdentityBlocksTOK is JudgeIdentityBlocksCHK for the TOK checks.
func JudgeIdentityBlocksTOK(o Identity) *Verdicts {
	return identityBlocks(o, identityBlocksTOK)
}

func identityBlocks(o Identity, ids []string) *Verdicts {
	why := o.blocked()
	if why == "" || !o.CaseGoesOn {
		return nil
	}
	v := NewVerdicts(ids...)
	errorRest(v, "blocked: no identity certificate ("+why+")")
	return v
}

// blocked says why the steps after have no identity; "" when one was
// obtained.
func (o Identity) blocked() string {
	switch {
	case o.Skip != "":
		return o.Skip
	case o.Error != "":
		return o.Error
	case o.Finding != "":
		return "the SCEP endpoint issued no certificate (CHK-001)"
	}
	return ""
}

// errorRest gives every owned check without a result yet the error why:
// checks the tester could not judge, never the server's failure.
func errorRest(v *Verdicts, why string) {
	for _, id := range v.Owns() {
		if !v.Judged(id) {
			v.Error(id, why)
		}
	}
}
