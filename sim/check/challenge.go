package check

// Challenge is what the challenge step observed. (Being filled in: issue 24.)
type Challenge struct{}
