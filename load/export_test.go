package load

// NewResultForTest is an empty result, its histograms ready for Record, so
// tests outside the package can build one without running a load.
func NewResultForTest() *Result { return newResult() }

// NewHistogramForTest is an empty histogram of the shape results use.
func NewHistogramForTest() *Histogram { return newHistogram() }
