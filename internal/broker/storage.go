package broker

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Storage is where JetStream keeps the cluster's streams and buckets: in
// memory (lost when every node stops) or in files (kept across a restart
// of the whole cluster). The zero value is MemoryStorage. Other cluster
// state (sessions, queues) takes the same choice from
// StreamConfig.Storage or NATS.Storage.
type Storage string

// The storages.
const (
	MemoryStorage Storage = "memory"
	FileStorage   Storage = "file"
)

// ErrStorageMismatch is the stream error of a node whose configured
// storage differs from that of the stream or bucket already in the
// cluster: JetStream cannot change a stream's storage in place.
var ErrStorageMismatch = errors.New("broker: stream storage differs from the configured storage")

// JetStream is s as nats.go spells it.
func (s Storage) JetStream() nats.StorageType {
	if s == FileStorage {
		return nats.FileStorage
	}
	return nats.MemoryStorage
}

// ParseStorage reads "memory", "file" or "" (memory).
func ParseStorage(v string) (Storage, error) {
	switch Storage(v) {
	case "", MemoryStorage:
		return MemoryStorage, nil
	case FileStorage:
		return FileStorage, nil
	}
	return "", fmt.Errorf("broker: storage %q is not memory or file", v)
}

func storageOf(t nats.StorageType) Storage {
	if t == nats.FileStorage {
		return FileStorage
	}
	return MemoryStorage
}

// Storage is the storage of the cluster's streams and buckets (memory
// when unsequenced: there are none).
func (b *NATS) Storage() Storage {
	if b.seq == nil {
		return MemoryStorage
	}
	return storageOf(b.seq.cfg.Storage)
}

// storageMismatch is the error for an existing stream or bucket (what)
// whose storage is have while this node wants want, saying what to do
// (rm: the NATS CLI command that removes it).
func storageMismatch(what, rm string, have, want nats.StorageType) error {
	return fmt.Errorf("%w: %s exists with %s storage, this node is configured with %s; "+
		"JetStream cannot convert it: set cluster.storage to %s on every node, or remove it "+
		"(%s, losing its contents) and start again",
		ErrStorageMismatch, what, storageOf(have), storageOf(want), storageOf(have), rm)
}

// StreamError is why the stream will not become ready (a storage
// mismatch), or nil.
func (b *NATS) StreamError() error {
	if b.seq == nil {
		return nil
	}
	if e := b.seq.fatal.Load(); e != nil {
		return *e
	}
	return nil
}

// fail records a stream error that retrying cannot mend, logs it and
// wakes the publishes waiting for the stream.
func (s *sequencer) fail(b *NATS, err error) {
	if s.fatal.CompareAndSwap(nil, &err) {
		b.log.Error("cluster stream unusable", "err", err)
		close(s.failCh)
	}
}
