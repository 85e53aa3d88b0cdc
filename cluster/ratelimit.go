package cluster

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// Take counts a request against an API key's per-minute limit on every
// node at once (api.Limiter): one Redis counter per key and minute. When
// Redis does not answer, the request is let through and the failure logged.
func (c *Cluster) Take(ctx context.Context, key string, limit int) (allowed bool, remaining int, reset time.Time) {
	start := time.Now().Truncate(time.Minute)
	reset = start.Add(time.Minute)
	k := keyRate + key + ":" + strconv.FormatInt(start.Unix(), 10)
	pipe := c.rdb.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.Expire(ctx, k, 2*time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		c.log.Warn("rate limit not counted", zap.Error(err))
		return true, limit, reset
	}
	n := int(incr.Val())
	if n > limit {
		return false, 0, reset
	}
	return true, limit - n, reset
}
