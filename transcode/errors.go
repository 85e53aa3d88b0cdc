package transcode

import "errors"

// ErrUnsupported is returned for a format, codec or rate the package cannot
// convert.
var ErrUnsupported = errors.New("transcode: unsupported format")
