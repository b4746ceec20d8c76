package check

// Transport is what the case saw of its connections. (Being filled in.)
type Transport struct{}
