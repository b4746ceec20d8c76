package sim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/enrollsim/enrollsim/sim/device"
)

// deviceIDs are the identifiers a device sends after enrollment (§2.13).
// They are derived from the case name, so a rerun of a case is the same
// device to the server and its reports compare line by line. Which of them
// go on the wire depends on the enrollment type: user enrollment sends only
// enrollmentID (and enrollmentUserID on the Mac user channel), device
// enrollment udid, serial and on the Mac user channel userID and the names.
type deviceIDs struct {
	udid             string // ADDE: 00008120-… on iOS, a UUID on the Mac
	enrollmentID     string // BYOD: the per-enrollment stand-in for the UDID
	enrollmentUserID string // BYOD Mac user channel
	serial           string // ADDE only
	userID           string // ADDE Mac user channel: the local user's GUID
	userShortName    string
	userLongName     string
	pushMagic        string
	pushToken        []byte // the APNs token TokenUpdate carries
	// userPushToken and userPushMagic, once the device channel's token
	// was rotated (push.go), are what the Mac user channel keeps sending.
	userPushToken []byte
	userPushMagic string
}

// deviceIDsFor derives the identifiers of one enrollment of a case; seed
// tells enrollments of the same case apart ("" for the case's own).
func deviceIDsFor(caseName, seed string, d device.Device, account string) deviceIDs {
	h := func(what string) []byte {
		sum := sha256.Sum256([]byte("enrollsim/" + caseName + "/" + seed + "/" + what))
		return sum[:]
	}
	short, _, _ := strings.Cut(account, "@")
	if short == "" {
		short = "user"
	}
	ids := deviceIDs{
		enrollmentID:     uuidOf(h("enrollment-id")),
		enrollmentUserID: uuidOf(h("enrollment-user-id")),
		serial:           serialOf(h("serial")),
		userID:           uuidOf(h("user-id")),
		userShortName:    short,
		userLongName:     strings.ToUpper(short[:1]) + short[1:],
		pushMagic:        uuidOf(h("push-magic")),
		pushToken:        h("push-token"),
	}
	if d.Family == device.Mac {
		ids.udid = uuidOf(h("udid")) // macOS UDIDs are hardware UUIDs
	} else {
		// Devices since the iPhone XS: ECID-based, 8-16 hex digits.
		ids.udid = "00008120-" + strings.ToUpper(hex.EncodeToString(h("udid")[:8]))
	}
	return ids
}

// deviceIDs are this case's own identifiers.
func (r *runner) deviceIDs() deviceIDs {
	return deviceIDsFor(r.c.Name, r.seed(), r.c.Device, r.c.Account.Identifier)
}

// otherDeviceIDs are the identifiers of another enrollment of the same
// case's device model (n >= 1), for probes that must come from a different
// enrollment (CHK-009, TOK-008); stable across reruns like the case's own.
func (r *runner) otherDeviceIDs(n int) deviceIDs {
	return deviceIDsFor(r.c.Name, r.seed()+fmt.Sprintf("/other-%d", n), r.c.Device, r.c.Account.Identifier)
}

func uuidOf(b []byte) string {
	x := strings.ToUpper(hex.EncodeToString(b[:16]))
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// serialAlphabet is what Apple serial numbers are drawn from (no vowels
// other than those in old formats, no O or I that read as digits).
const serialAlphabet = "0123456789CDFGHJKLMNPQRTVWXY"

func serialOf(b []byte) string {
	out := make([]byte, 10)
	for i := range out {
		out[i] = serialAlphabet[int(b[i])%len(serialAlphabet)]
	}
	return string(out)
}

// seed is drawn once per case: a simulated device is a new device every
// time it plays, as a real one that enrolls again gets a new EnrollmentID.
func (r *runner) seed() string {
	if r.deviceSeed == "" && r.e != nil && r.e.deviceSeed != "" {
		r.deviceSeed = r.e.deviceSeed + "/" + r.c.Name
	}
	if r.deviceSeed == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		r.deviceSeed = hex.EncodeToString(b)
	}
	return r.deviceSeed
}
