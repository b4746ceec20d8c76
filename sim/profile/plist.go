package profile

import "context"

// DecodePlist decodes an XML or binary property list from any untrusted
// source (the MDM server's commands as well as profiles) within lim (zero
// fields take DefaultLimits), stopping soon after ctx is done. The values are
// the ones howett.net/plist gives: map[string]any, []any, string, uint64 or
// int64, float64, bool, []byte, time.Time. An error that wraps ErrLimit says
// the input broke a limit and was not read further.
func DecodePlist(ctx context.Context, data []byte, lim Limits) (any, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, overLimit("the property list is %d bytes, more than the limit of %d bytes", len(data), lim.MaxBytes)
	}
	v, _, err := decodePlist(ctx, data, lim)
	return v, err
}
