package check

import (
	"fmt"
	"mime"
	"strings"
)

// DDM is what the device's declarative-management sync saw (issue 26):
// each check-in to a DeclarativeManagement endpoint and its answer, and
// what the device made of them.
type DDM struct {
	Exchanges []DDMExchange `json:"exchanges"`
	// Token is the first DeclarationsToken; Again the one read again with
	// nothing changed; AfterChange the one read after the tester's admin
	// hook added a declaration ("" when there is no hook: ChangeSkipped
	// says why).
	Token         string `json:"token,omitempty"`
	Again         string `json:"again,omitempty"`
	AfterChange   string `json:"after_change,omitempty"`
	ChangeSkipped string `json:"change_skipped,omitempty"`
	// Unfetchable are listed items whose declaration could not be fetched.
	Unfetchable []string `json:"unfetchable,omitempty"`
	// ItemsBad says why the declaration-items answer is no list of items.
	ItemsBad string `json:"items_bad,omitempty"`
	// UnknownStatus is what the probe for a declaration the server never
	// listed got (0 when not sent).
	UnknownStatus int `json:"unknown_status,omitempty"`
	// UserEnrollment: the device is user-enrolled; ForbiddenInUE are the
	// declarations it got that user enrollment does not allow.
	UserEnrollment bool     `json:"user_enrollment,omitempty"`
	ForbiddenInUE  []string `json:"forbidden_in_ue,omitempty"`
	// MissingConfigs are activations' configurations no item names.
	MissingConfigs []string `json:"missing_configs,omitempty"`
	// Staged are the declarations Enrollment SSO installed, which the
	// server must pre-stage for the first sync; StagedMissing are those
	// the first declaration-items did not list (the device removes them).
	Staged        []string `json:"staged,omitempty"`
	StagedMissing []string `json:"staged_missing,omitempty"`
	// FromCommand: the first sync took its DeclarationsToken from the
	// DeclarativeManagement command's Data, and skipped the tokens
	// endpoint as Apple describes; DataBad says why the Data was no
	// TokensResponse (the device asked the tokens endpoint instead).
	FromCommand bool   `json:"from_command,omitempty"`
	DataBad     string `json:"data_bad,omitempty"`
	// Changes are the tester's changes of the set (DDM-002's probe: a
	// declaration added, then removed) and what the server told the
	// device after each (DDM-009).
	Changes []DDMChange `json:"changes,omitempty"`
}

// DDMChange is one change the tester made to the declaration set through
// the target's declarations hook, and the device's next connect.
type DDMChange struct {
	What string `json:"what"` // "added X", "removed X"
	// Token is the DeclarationsToken the tokens endpoint gave after it.
	Token string `json:"token,omitempty"`
	// Commands is how many DeclarativeManagement commands the connect
	// right after the change brought; DataToken is the DeclarationsToken
	// in the last one's Data ("" when it had no Data).
	Commands  int    `json:"commands"`
	DataToken string `json:"data_token,omitempty"`
	// Resynced: the device synced again (its token differed).
	Resynced bool `json:"resynced,omitempty"`
	// Why says the connect could not be judged.
	Why string `json:"why,omitempty"`
}

// DDMExchange is one DeclarativeManagement check-in and its answer.
type DDMExchange struct {
	Endpoint    string `json:"endpoint"`
	Probe       bool   `json:"probe,omitempty"`
	Why         string `json:"why,omitempty"` // the tester could not judge the answer
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	BodyLen     int    `json:"body_len,omitempty"`
	// Bad says why a body that is due is not what the endpoint answers.
	Bad string `json:"bad,omitempty"`
}

var ddmOwns = []string{"DDM-001", "DDM-002", "DDM-003", "DDM-004", "DDM-005", "DDM-006", "DDM-007", "DDM-009"}

func init() {
	register(Judge{Group: "DDM", Reads: "declarative management sync", Owns: ddmOwns, Run: func(o *Observations) *Verdicts {
		if o.DDM == nil {
			return nil
		}
		return JudgeDDM(*o.DDM)
	}})
	register(Judge{Group: "DDM", Reads: "enrollment SSO declarations and the first sync", Owns: []string{"DDM-008"}, Run: JudgeStaged})
}

// JudgeStaged is DDM-008: the declarations Enrollment SSO installed are
// listed by the first sync. nil when the device installed none, or did
// not go as far as the commands; a WARN when the server sent no
// DeclarativeManagement command in the first commands, as a later sync
// may still carry them.
func JudgeStaged(o *Observations) *Verdicts {
	var staged []string
	switch {
	case o.DDM != nil:
		staged = o.DDM.Staged
	case o.ESSO != nil && o.ESSO.DeclarationsApply && o.ESSO.DeclsBad == "":
		for _, d := range o.ESSO.Declarations {
			staged = append(staged, d.Identifier)
		}
	}
	if len(staged) == 0 || (o.DDM == nil && o.Commands == nil) {
		return nil
	}
	v := NewVerdicts("DDM-008")
	switch {
	case o.DDM == nil:
		v.Add(With("DDM-008", Warn, fmt.Sprintf("Enrollment SSO installed %d declarations, and the server sent no DeclarativeManagement command in the first commands: their first sync was not seen", len(staged))))
	default:
		v.Check("DDM-008", len(o.DDM.StagedMissing) == 0, "the first sync lists the declarations Enrollment SSO installed",
			"not listed, so the device removes them: "+strings.Join(o.DDM.StagedMissing, ", "))
	}
	return v
}

// JudgeDDM is DDM-001..007 over one sync.
func JudgeDDM(d DDM) *Verdicts {
	v := NewVerdicts(ddmOwns...)
	judgeDDMAnswers(v, d)
	judgeDDMTokens(v, d)
	switch {
	case d.ItemsBad != "":
		v.Check("DDM-003", false, "declaration-items lists each kind's items with Identifier and ServerToken", d.ItemsBad)
	default:
		v.Check("DDM-003", len(d.Unfetchable) == 0, "every listed declaration can be fetched",
			"listed but not fetchable: "+strings.Join(d.Unfetchable, "; "))
	}
	switch d.UnknownStatus {
	case 0:
		v.Skip("DDM-004", "the probe for an unknown declaration was not sent")
	default:
		v.Check("DDM-004", d.UnknownStatus == 404, "404 for a declaration the server never listed (the device then removes its copy)",
			fmt.Sprintf("%d", d.UnknownStatus))
	}
	judgeDDMStatus(v, d)
	if !d.UserEnrollment {
		v.Skip("DDM-006", "a device enrollment: the user-enrollment rules do not apply")
	} else {
		v.Check("DDM-006", len(d.ForbiddenInUE) == 0, "no declaration that user enrollment forbids",
			"sent to a user enrollment: "+strings.Join(d.ForbiddenInUE, ", "))
	}
	v.Check("DDM-007", len(d.MissingConfigs) == 0, "activations reference configurations that exist",
		"activated but never listed: "+strings.Join(d.MissingConfigs, ", "))
	judgeDDMChanges(v, d)
	return v
}

// judgeDDMChanges is DDM-009: after each change of the set, the device's
// next connect brings a DeclarativeManagement command whose Data, when
// it has one, carries the new DeclarationsToken.
func judgeDDMChanges(v *Verdicts, d DDM) {
	if len(d.Changes) == 0 {
		why := d.ChangeSkipped
		if why == "" {
			why = "the tester did not change the declarations (probes off)"
		}
		v.Skip("DDM-009", why)
		return
	}
	var bad []string
	for _, c := range d.Changes {
		switch {
		case c.Why != "":
			v.Error("DDM-009", "the connect after the tester "+c.What+" could not be judged: "+c.Why)
			return
		case c.Commands == 0:
			bad = append(bad, "after the tester "+c.What+", the next connect brought no DeclarativeManagement command: the device does not learn of the change")
		case c.DataToken != "" && c.Token != "" && c.DataToken != c.Token:
			bad = append(bad, fmt.Sprintf("after the tester %s, the command's Data carried DeclarationsToken %q, not the set's %q", c.What, c.DataToken, c.Token))
		}
	}
	v.Check("DDM-009", len(bad) == 0, "a DeclarativeManagement command with the new tokens after each change", strings.Join(bad, "; "))
}

// judgeDDMAnswers is DDM-001: every endpoint but status answers 200 with
// an application/json body.
func judgeDDMAnswers(v *Verdicts, d DDM) {
	var bad []string
	for _, x := range d.Exchanges {
		switch {
		case x.Probe || x.Endpoint == "status":
		case x.Why != "":
			v.Error("DDM-001", x.Endpoint+" could not be judged: "+x.Why)
			return
		case x.Status != 200 && strings.HasPrefix(x.Endpoint, "declaration/"):
			// A listed declaration that cannot be fetched is DDM-003's.
		case x.Status != 200:
			bad = append(bad, fmt.Sprintf("%s answered %d", x.Endpoint, x.Status))
		case !isJSONType(x.ContentType):
			bad = append(bad, fmt.Sprintf("%s answered %q, not application/json", x.Endpoint, Printable(x.ContentType)))
		case x.Bad != "":
			bad = append(bad, x.Endpoint+": "+x.Bad)
		}
	}
	v.Check("DDM-001", len(bad) == 0, "each endpoint answers 200 with application/json where a body is due", strings.Join(bad, "; "))
}

func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// judgeDDMTokens is DDM-002: a DeclarationsToken that stays while the set
// stays and changes when it changes.
func judgeDDMTokens(v *Verdicts, d DDM) {
	switch {
	case d.Token == "":
		v.Check("DDM-002", false, "tokens carries SyncTokens.DeclarationsToken", "no DeclarationsToken")
	case d.Again != "" && d.Again != d.Token:
		v.Check("DDM-002", false, "the DeclarationsToken stays while the declarations stay",
			fmt.Sprintf("%q, then %q with nothing changed", d.Token, d.Again))
	case d.ChangeSkipped != "":
		v.Check("DDM-002", true, "", "")
		v.Results[len(v.Results)-1].Detail = "the change was not tried: " + d.ChangeSkipped
	case d.AfterChange == d.Token:
		v.Check("DDM-002", false, "the DeclarationsToken changes when the declarations change",
			fmt.Sprintf("%q before and after the tester added a declaration", d.Token))
	default:
		v.Check("DDM-002", true, "", "")
	}
}

// judgeDDMStatus is DDM-005: every status report gets 200 with no body.
func judgeDDMStatus(v *Verdicts, d DDM) {
	sent := 0
	for _, x := range d.Exchanges {
		if x.Endpoint != "status" {
			continue
		}
		sent++
		switch {
		case x.Why != "":
			v.Error("DDM-005", "status could not be judged: "+x.Why)
			return
		case x.Status != 200 || x.BodyLen != 0:
			v.Check("DDM-005", false, "200 with an empty body to the status report", fmt.Sprintf("%d with %d bytes", x.Status, x.BodyLen))
			return
		}
	}
	if sent == 0 {
		v.Skip("DDM-005", "no status report was sent")
		return
	}
	v.Check("DDM-005", true, "", "")
}
