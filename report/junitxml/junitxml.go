// Package junitxml is the JUnit XML both report formats write (a run's,
// package report, and a load's, package load): the Windy Road JUnit.xsd
// (report/testdata/junit.xsd) with testcase properties added.
package junitxml

import "encoding/xml"

// Suites is the document: <testsuites>.
type Suites struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []Suite  `xml:"testsuite"`
}

// Suite is one <testsuite>.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Package    string     `xml:"package,attr"`
	ID         int        `xml:"id,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr"`
	Hostname   string     `xml:"hostname,attr"`
	Properties []Property `xml:"properties>property"`
	Cases      []Case     `xml:"testcase"`
	SystemOut  Text       `xml:"system-out"`
	SystemErr  Text       `xml:"system-err"`
}

// Property is one <property>.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one <testcase>.
type Case struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	// Properties say what a testcase is (its rule, its status) and why a
	// passing one passes ("expected"); pytest, Jenkins's junit plugin and
	// GitLab read testcase properties, the Windy Road schema has them
	// added (testdata/junit.xsd).
	Properties []Property `xml:"properties>property,omitempty"`
	Skipped    *Message   `xml:"skipped"`
	Error      *Message   `xml:"error"`
	Failure    *Message   `xml:"failure"`
}

// Message is a <skipped>, <error> or <failure>.
type Message struct {
	Message string // message attribute
	Type    string // type attribute, required on error and failure
	Body    string
}

// MarshalXML writes the body as text with its newlines as they are
// (encoding/xml would write ",chardata" fields' newlines as &#xA;).
func (m *Message) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "message"}, Value: m.Message})
	if m.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: m.Type})
	}
	return Text(m.Body).MarshalXML(e, start)
}

// Text is an element of text only, newlines kept.
type Text string

// MarshalXML writes the element with t as its text.
func (t Text) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if t != "" {
		if err := e.EncodeToken(xml.CharData(t)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
