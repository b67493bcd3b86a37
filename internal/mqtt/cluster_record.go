package mqtt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/store"
)

// clusterRecord is a persistent session as a cluster keeps it in its
// key-value bucket (cluster.go): what a node needs to take the session
// over. Its messages are not in it: they are in the cluster's topic
// stream, and the record says how far the session got in that stream.
type clusterRecord struct {
	owner string // broker identity of the node holding the session; "" none
	// final: written when the session went offline, or was handed to
	// another node; its position is exact. Otherwise a checkpoint of a
	// connected session, which may be a moment behind.
	final bool
	// pos is a stream sequence: every message of the session's up to it
	// has been acknowledged (or dropped); replay starts after it.
	pos uint64
	// sent is the highest stream sequence transmitted to the client: a
	// replayed message up to it is resent with DUP.
	sent uint64
	sess sessionRecord // expiry, when it went offline, subscriptions
}

const clusterRecordVersion = 1

// encodeClusterRecord returns the bucket value of r, the session part
// being sess (appendRecord's encoding).
func appendClusterRecord(b []byte, r *clusterRecord, sess []byte) []byte {
	b = append(b, clusterRecordVersion, b2b(r.final))
	b = store.AppendString(b, r.owner)
	b = binary.AppendUvarint(b, r.pos)
	b = binary.AppendUvarint(b, r.sent)
	return append(b, sess...)
}

// decodeClusterRecord decodes a bucket value.
func decodeClusterRecord(v []byte) (clusterRecord, error) {
	var r clusterRecord
	d := store.NewDecoder(v)
	if ver := d.Byte(); ver != clusterRecordVersion && d.Err() == nil {
		return r, fmt.Errorf("%w: cluster session version %d", store.ErrRecord, ver)
	}
	flags := d.Byte()
	r.final = flags&1 != 0
	r.owner = d.String()
	r.pos = d.Uvarint()
	r.sent = d.Uvarint()
	if err := d.Err(); err != nil {
		return r, err
	}
	if flags > 1 {
		return r, fmt.Errorf("%w: cluster session flags %x", store.ErrRecord, flags)
	}
	s, err := decodeSession(d.Rest())
	r.sess = s
	return r, err
}

// expired reports whether the session the record describes has outlived
// its expiry interval at now (a connected session has not).
func (r *clusterRecord) expired(now time.Time, maxExpiry uint32) bool {
	if r.sess.offline.IsZero() {
		return false
	}
	return !now.Before(r.sess.offline.Add(time.Duration(min(r.sess.expiry, maxExpiry)) * time.Second))
}
