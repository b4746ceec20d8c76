// Package mdmcmd: STAND-IN ONLY. The real package is written on branch
// mdmcmd; this file gives the check-in work (branch mdmclient) the agreed
// API so it compiles and can be tested before that branch lands. Delete
// this file when merging branch mdmcmd.
package mdmcmd

import (
	"errors"
	"fmt"

	"howett.net/plist"
)

// Device is what a command's answer may tell about the device.
type Device struct {
	Family, Product, OSVersion, BuildVersion, DeviceName, SerialNumber, UDID string
	UserEnrollment                                                           bool
	ProfileIdentifiers                                                       []string
	IdentityDER                                                              []byte
}

// Command is one command the server sent on a connect.
type Command struct {
	UUID, RequestType string
	Body              map[string]any
}

const maxCommand = 1 << 20

// Parse reads a command plist {CommandUUID, Command: {RequestType, ...}}.
func Parse(body []byte) (Command, error) {
	if len(body) > maxCommand {
		return Command{}, errors.New("command plist over 1 MiB")
	}
	var top map[string]any
	if _, err := plist.Unmarshal(body, &top); err != nil {
		return Command{}, fmt.Errorf("not a command plist: %w", err)
	}
	uuid, _ := top["CommandUUID"].(string)
	cmd, _ := top["Command"].(map[string]any)
	rt, _ := cmd["RequestType"].(string)
	if uuid == "" || rt == "" {
		return Command{}, errors.New("not a command plist: no CommandUUID or Command.RequestType")
	}
	return Command{UUID: uuid, RequestType: rt, Body: cmd}, nil
}

// Answer is the device's answer: Status and result keys.
func Answer(c Command, d Device) map[string]any {
	switch c.RequestType {
	case "DeviceInformation":
		q := map[string]any{"OSVersion": d.OSVersion, "BuildVersion": d.BuildVersion, "ProductName": d.Product}
		if !d.UserEnrollment {
			q["SerialNumber"], q["UDID"] = d.SerialNumber, d.UDID
		}
		return map[string]any{"Status": "Acknowledged", "QueryResponses": q}
	case "ProfileList":
		var l []any
		for _, id := range d.ProfileIdentifiers {
			l = append(l, map[string]any{"PayloadIdentifier": id})
		}
		return map[string]any{"Status": "Acknowledged", "ProfileList": l}
	}
	return map[string]any{"Status": "Error", "ErrorChain": []any{map[string]any{"ErrorCode": 12021, "ErrorDomain": "MCMDMErrorDomain", "LocalizedDescription": "Unknown command"}}}
}

// Withheld lists the identifiers c asks that user enrollment forbids.
func Withheld(c Command, userEnrollment bool) []string {
	if !userEnrollment || c.RequestType != "DeviceInformation" {
		return nil
	}
	qs, _ := c.Body["Queries"].([]any)
	var out []string
	for _, q := range qs {
		switch s, _ := q.(string); s {
		case "UDID", "SerialNumber", "IMEI", "MEID":
			out = append(out, s)
		}
	}
	return out
}
