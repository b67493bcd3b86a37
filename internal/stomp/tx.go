package stomp

import (
	"strconv"

	"github.com/heraldhq/herald/internal/core"
)

// transaction holds the SEND, ACK and NACK frames sent inside it until
// COMMIT applies them in order; ABORT, DISCONNECT or the connection's end
// drops them.
type transaction struct {
	ops []txOp
}

type txOp struct {
	f   *Frame
	dst dest // for SEND
}

func (c *conn) onBegin(f *Frame) *stompError {
	name, ok := f.Get("transaction")
	if !ok {
		return missing(f, "transaction")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.txs[name]; dup {
		return protoErr("transaction %q already begun", clip(name))
	}
	if len(c.txs) >= maxTransactions {
		return &stompError{msg: "too many open transactions: the limit is " + strconv.Itoa(maxTransactions), code: core.ClosePolicyViolation, reason: "limit"}
	}
	if c.txs == nil {
		c.txs = make(map[string]*transaction)
	}
	c.txs[name] = &transaction{}
	return nil
}

// buffer adds a frame to an open transaction.
func (c *conn) buffer(f *Frame, name string, dst dest) *stompError {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx := c.txs[name]
	if tx == nil {
		return unknownTx(name)
	}
	if c.txCount+1 > maxTxFrames || c.txBytes+len(f.Body) > maxTxBytes {
		return &stompError{msg: "transaction too large: open transactions may hold " + strconv.Itoa(maxTxFrames) +
			" frames and " + strconv.Itoa(maxTxBytes) + " body bytes", code: core.ClosePolicyViolation, reason: "limit"}
	}
	c.txCount++
	c.txBytes += len(f.Body)
	tx.ops = append(tx.ops, txOp{f, dst})
	return nil
}

// end removes a transaction and returns it, nil if unknown.
func (c *conn) end(name string) *transaction {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx := c.txs[name]
	if tx == nil {
		return nil
	}
	delete(c.txs, name)
	for _, op := range tx.ops {
		c.txCount--
		c.txBytes -= len(op.f.Body)
	}
	return tx
}

func (c *conn) onCommit(f *Frame) *stompError {
	name, ok := f.Get("transaction")
	if !ok {
		return missing(f, "transaction")
	}
	tx := c.end(name)
	if tx == nil {
		return unknownTx(name)
	}
	for _, op := range tx.ops {
		var err *stompError
		switch op.f.Command {
		case cmdSend:
			err = c.send(op.f, op.dst)
		case cmdAck, cmdNack:
			err = c.settle(op.f, op.f.Command == cmdNack, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) onAbort(f *Frame) *stompError {
	name, ok := f.Get("transaction")
	if !ok {
		return missing(f, "transaction")
	}
	if c.end(name) == nil {
		return unknownTx(name)
	}
	return nil
}

func unknownTx(name string) *stompError {
	return protoErr("unknown transaction %q: not begun, or already committed or aborted", clip(name))
}

// onDisconnect ends the session the way the client asked: open
// transactions are dropped, the RECEIPT goes out after everything queued,
// then the connection closes.
func (c *conn) onDisconnect(f *Frame) {
	c.mu.Lock()
	c.txs, c.txCount, c.txBytes = nil, 0, 0
	c.mu.Unlock()
	var final []byte
	if r, ok := f.Get("receipt"); ok {
		final = c.receiptFrame(r)
		if c.a.cfg.Queues.Store() != nil {
			// The receipt says everything before it was handled: with
			// persisted queues, that it is durable too.
			c.sendReceipt(final)
			final = nil
		}
	}
	c.closeAfter(final, core.CloseNormal, "") // behind receipts waiting for the store
}
