package durable

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame returns val prefixed with the CRC-32C of bucket, key and val: a
// record copied under another key, or torn, fails the check.
func frame(bucket string, key, val []byte) []byte {
	b := make([]byte, 4, 4+len(val))
	binary.BigEndian.PutUint32(b, sum(bucket, key, val))
	return append(b, val...)
}

// unframe checks a stored value and returns the record in it.
func unframe(bucket string, key, stored []byte) ([]byte, error) {
	if len(stored) < 4 {
		return nil, fmt.Errorf("%w: record %s/%x is %d bytes", ErrCorrupt, bucket, key, len(stored))
	}
	val := stored[4:]
	if binary.BigEndian.Uint32(stored) != sum(bucket, key, val) {
		return nil, fmt.Errorf("%w: record %s/%x fails its checksum", ErrCorrupt, bucket, key)
	}
	return val, nil
}

func sum(bucket string, key, val []byte) uint32 {
	var n [4]byte
	h := crc32.Update(0, castagnoli, []byte(bucket))
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h = crc32.Update(h, castagnoli, n[:])
	h = crc32.Update(h, castagnoli, key)
	return crc32.Update(h, castagnoli, val)
}
