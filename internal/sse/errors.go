package sse

import (
	"errors"
	"strconv"
)

var (
	errNoTopic       = errors.New("no topic: add topic=<filter> parameters")
	errTooManyTopics = errors.New("too many topics: at most " + strconv.Itoa(DefaultMaxTopics) + " by default")
)
