package check

// Identity is what the identity step observed. (Being filled in.)
type Identity struct{}

// CheckIn is what the check-in step observed. (Being filled in.)
type CheckIn struct{}

// Commands is what the commands step observed. (Being filled in.)
type Commands struct{}
