package api

import (
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
)

func sessionField(id string) zap.Field { return zap.String("session_id", id) }

func modeField(m session.Mode) zap.Field { return zap.String("mode", string(m)) }
