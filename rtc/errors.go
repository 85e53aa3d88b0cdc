package rtc

import "errors"

var (
	// ErrICETimeout means ICE did not connect in time.
	ErrICETimeout = errors.New("rtc: ice did not connect")
	// ErrICEFailed means the connection failed or dropped for good.
	ErrICEFailed = errors.New("rtc: ice failed")
	// ErrPeerClosed means the browser closed the connection.
	ErrPeerClosed = errors.New("rtc: peer closed")
)
