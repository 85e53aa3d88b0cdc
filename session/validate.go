package session

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// MaxMetadataBytes caps the serialized size of a metadata object.
const MaxMetadataBytes = 8 << 10

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// ValidE164 reports whether s is a phone number in E.164 form (+14155550100).
func ValidE164(s string) bool { return e164.MatchString(s) }

func checkMetadata(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		return invalid("metadata", CodeInvalidRequest, "metadata must be an object")
	}
	if len(raw) > MaxMetadataBytes {
		return invalid("metadata", CodeInvalidRequest, "metadata is %d bytes; the limit is %d", len(raw), MaxMetadataBytes)
	}
	return nil
}

// checkURL accepts an absolute URL with one of the schemes.
func checkURL(param, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" {
		for _, s := range schemes {
			if strings.EqualFold(u.Scheme, s) {
				return nil
			}
		}
	}
	return invalid(param, CodeInvalidRequest, "%s must be an absolute %s URL", param, strings.Join(schemes, " or "))
}

func checkOneOf(param, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return invalid(param, CodeInvalidRequest, "%s must be one of %s", param, strings.Join(allowed, ", "))
}

func checkLength(param, value string, max int) error {
	if len(value) > max {
		return invalid(param, CodeInvalidRequest, "%s is longer than %d bytes", param, max)
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// compactJSON normalizes a raw JSON value for storage ("null" → nil).
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}
