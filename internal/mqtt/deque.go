package mqtt

// deque is a ring buffer of values: cheap pushes at the back and pops at
// the front (the common order of acknowledgements), removal anywhere. An
// empty deque holds no buffer, so an idle session costs nothing here.
type deque[T any] struct {
	buf  []T
	head int
	n    int
}

func (d *deque[T]) len() int { return d.n }

// at returns a pointer to the i-th element from the front.
func (d *deque[T]) at(i int) *T { return &d.buf[(d.head+i)%len(d.buf)] }

func (d *deque[T]) pushBack(v T) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

func (d *deque[T]) popFront() T {
	var zero T
	v := d.buf[d.head]
	d.buf[d.head] = zero
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	if d.n == 0 {
		d.buf, d.head = nil, 0
	}
	return v
}

// remove deletes the i-th element, shifting the shorter side.
func (d *deque[T]) remove(i int) {
	if i == 0 {
		d.popFront()
		return
	}
	var zero T
	for j := i; j < d.n-1; j++ {
		*d.at(j) = *d.at(j + 1)
	}
	*d.at(d.n - 1) = zero
	d.n--
	if d.n == 0 {
		d.buf, d.head = nil, 0
	}
}

func (d *deque[T]) grow() {
	buf := make([]T, max(4, 2*len(d.buf)))
	for i := range d.n {
		buf[i] = *d.at(i)
	}
	d.buf, d.head = buf, 0
}
