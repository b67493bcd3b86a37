package topic

import "strings"

// Tree is a subscription trie from filters to values: one node per filter
// level, so finding the subscribers of a name costs a few map lookups per
// level of the name rather than a Match against every filter.
//
// Values attached to the same filter share one slice on that node. Herald's
// common case is many subscribers on one filter, and a slice lets the router
// hand that group over in one piece (see MatchGroups) with no per-value
// work. Add and Remove therefore scan a node's slice, which is linear in the
// number of values on that one filter.
//
// Tree is not safe for concurrent use: the router guards it with its own
// lock. The zero Tree is empty and ready to use. V must be a type whose
// values are comparable at run time (an interface holding a pointer is
// typical).
type Tree[V comparable] struct {
	root node[V]
	n    int
}

type node[V comparable] struct {
	children map[string]*node[V] // literal next levels
	plus     *node[V]            // the '+' next level
	values   []V                 // values whose filter ends at this node
	hash     *[]V                // values whose filter is this node + "/#"; nil for none (rare, and a node per subscribed topic adds up)
}

func (n *node[V]) empty() bool {
	return len(n.children) == 0 && n.plus == nil && len(n.values) == 0 && n.hash == nil
}

// Len returns the number of (filter, value) pairs in the tree.
func (t *Tree[V]) Len() int { return t.n }

// Add attaches v to filter. It returns false, changing nothing, if the pair
// is already present or filter is not valid (see ValidFilter): callers are
// expected to have validated the filter and reported the error already.
func (t *Tree[V]) Add(filter string, v V) bool {
	if ValidFilter(filter) != nil {
		return false
	}
	n := &t.root
	for {
		level, rest, more := strings.Cut(filter, "/")
		if level == "#" {
			if n.hash == nil {
				n.hash = new([]V)
			}
			return t.add(n.hash, v)
		}
		var next *node[V]
		if level == "+" {
			if n.plus == nil {
				n.plus = new(node[V])
			}
			next = n.plus
		} else {
			next = n.children[level]
			if next == nil {
				if n.children == nil {
					n.children = make(map[string]*node[V])
				}
				next = new(node[V])
				// Clone so the tree never pins a larger string (for example
				// a decoded frame) that the filter was cut from.
				n.children[strings.Clone(level)] = next
			}
		}
		n = next
		if !more {
			return t.add(&n.values, v)
		}
		filter = rest
	}
}

func (t *Tree[V]) add(vs *[]V, v V) bool {
	for _, x := range *vs {
		if x == v {
			return false
		}
	}
	*vs = append(*vs, v)
	t.n++
	return true
}

// Remove detaches v from filter and prunes the nodes left empty, so a tree
// that saw a million short-lived filters does not keep their skeleton. It
// reports whether the pair was present.
func (t *Tree[V]) Remove(filter string, v V) bool {
	if filter == "" || !t.root.remove(filter, v) {
		return false
	}
	t.n--
	return true
}

// remove is recursive so that each level can prune the child it descended
// into; depth is bounded by the number of levels in filter.
func (n *node[V]) remove(filter string, v V) bool {
	level, rest, more := strings.Cut(filter, "/")
	if level == "#" {
		if more {
			return false
		}
		if n.hash == nil || !del(n.hash, v) {
			return false
		}
		if len(*n.hash) == 0 {
			n.hash = nil
		}
		return true
	}
	child := n.children[level]
	if level == "+" {
		child = n.plus
	}
	if child == nil {
		return false
	}
	var removed bool
	if more {
		removed = child.remove(rest, v)
	} else {
		removed = del(&child.values, v)
	}
	if removed && child.empty() {
		if level == "+" {
			n.plus = nil
		} else {
			delete(n.children, level)
			if len(n.children) == 0 {
				n.children = nil
			}
		}
	}
	return removed
}

// del removes v from *vs, not keeping order (order within a node carries no
// meaning), and clears the vacated slot so the value can be collected.
func del[V comparable](vs *[]V, v V) bool {
	s := *vs
	for i, x := range s {
		if x == v {
			last := len(s) - 1
			s[i] = s[last]
			var zero V
			s[last] = zero
			s = s[:last]
			if len(s) == 0 {
				s = nil
			}
			*vs = s
			return true
		}
	}
	return false
}

// Match calls fn for every value whose filter matches name (see the
// package-level Match for the rules). A value attached through two matching
// filters is visited twice; the router removes such duplicates itself
// because it can tell, through MatchGroups, when they are possible at all.
// Match does not allocate. fn must not modify the tree.
func (t *Tree[V]) Match(name string, fn func(v V)) {
	t.root.match(name, true, func(vs []V) {
		for _, v := range vs {
			fn(v)
		}
	})
}

// MatchGroups calls fn once per tree node with values whose filter matches
// name, passing that node's values (never empty). Within one group values
// are distinct, so a caller that sees a single group can skip de-duplication
// entirely. The slice belongs to the tree: fn must neither modify nor retain
// it, nor modify the tree. MatchGroups does not allocate.
func (t *Tree[V]) MatchGroups(name string, fn func(vs []V)) {
	t.root.match(name, true, fn)
}

// match visits the values under n that match name, where name is what is
// left of the published name after the levels n stands for (at least one
// level: "" is one empty level). root marks the tree root, where wildcards
// must not match names starting with '$'.
func (n *node[V]) match(name string, root bool, fn func([]V)) {
	dollar := root && name != "" && name[0] == '$'
	if n.hash != nil && !dollar {
		fn(*n.hash)
	}
	level, rest, more := strings.Cut(name, "/")
	if child := n.children[level]; child != nil {
		child.visit(rest, more, fn)
	}
	if n.plus != nil && !dollar {
		n.plus.visit(rest, more, fn)
	}
}

// visit continues matching at n after it consumed one level; more reports
// whether the name has further levels (in rest).
func (n *node[V]) visit(rest string, more bool, fn func([]V)) {
	if more {
		n.match(rest, false, fn)
		return
	}
	if len(n.values) > 0 {
		fn(n.values)
	}
	if n.hash != nil {
		fn(*n.hash) // "a/#" matches "a"
	}
}
