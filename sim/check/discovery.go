package check

// Discovery is what the discovery step observed. (Being filled in.)
type Discovery struct{}

// Document is what the process-document step observed. (Being filled in.)
type Document struct{}
