package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	headerLine    = regexp.MustCompile(`(?m)^ {8}[<>] [A-Za-z-]+: `)
	challengeLine = regexp.MustCompile(`<key>Challenge</key>\n {8}\| \s*<string>([^<]*)</string>`)
)

// -v is curl's: request and status lines; -vv adds the headers and the
// bodies, binary ones decoded (the signed enrollment body, the signed
// profile with its challenge redacted, the SCEP messages).
func TestVerbosityLevels(t *testing.T) {
	args := []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--type", "user", "--until", "identity", "--checks", "PROF-*"}
	v := execute(t, append(args, "-v")...)
	require.Equal(t, 0, v.code, v.errOut)
	assert.Regexp(t, `(?m)^ +#1 → GET https://`, v.out)
	assert.NotRegexp(t, headerLine, v.out, "-v shows no headers")
	assert.NotContains(t, v.out, "CMS SignedData")

	vv := execute(t, append(args, "-vv")...)
	require.Equal(t, 0, vv.code, vv.errOut)
	assert.Regexp(t, headerLine, vv.out)
	assert.Contains(t, vv.out, "> Content-Type: application/pkcs7-signature")
	assert.Contains(t, vv.out, "| CMS SignedData (", "the enrollment body and the profile, decoded")
	assert.Contains(t, vv.out, "| SCEP PKIMessage (", "the SCEP exchange, decoded")
	assert.Contains(t, vv.out, "messageType 3 (CertRep)")
	assert.Contains(t, vv.out, "Authorization: Bearer [redacted]")
	challenges := challengeLine.FindAllStringSubmatch(vv.out, -1)
	require.NotEmpty(t, challenges, "the signed profile's SCEP payload should show")
	for _, m := range challenges {
		assert.Equal(t, "[redacted]", m[1])
	}
	assert.Equal(t, v.code, execute(t, append(args, "--verbose", "--verbose")...).code)
}

// -v means verbose everywhere; the version is --version alone.
func TestVersionIsLongOnly(t *testing.T) {
	r := execute(t, "--version")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.out, "test")
	r = execute(t, "-v")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "-v is --verbose")
	assert.Contains(t, r.errOut, "--version")
	assert.False(t, strings.Contains(r.out, "version test"))
}
