package topic

import "strings"

// Match reports whether filter matches name, with MQTT 3.1.1 §4.7
// semantics:
//
//   - levels are compared exactly, byte for byte (case-sensitive; empty
//     levels count: "a//b" has three levels);
//   - '+' matches exactly one level, including an empty one;
//   - '#' matches any number of levels including zero, so "a/#" also
//     matches "a" (its parent);
//   - a filter whose first level is a wildcard does not match a name
//     starting with '$' ("#" does not match "$SYS/x"), so that
//     server-internal topics are only seen by those who ask for them.
//
// Match assumes filter and name are valid (see ValidFilter, ValidName); on
// invalid input it returns some answer without panicking. It does not
// allocate.
func Match(filter, name string) bool {
	if filter == name {
		return true // the common case of a fan-out, without splitting levels
	}
	if name != "" && name[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		nl, nrest, nmore := strings.Cut(name, "/")
		if fl != "+" && fl != nl {
			return false
		}
		switch {
		case !fmore && !nmore:
			return true
		case !nmore:
			// The name ended but the filter goes on: only a trailing "#"
			// (which matches zero levels) can still match.
			return frest == "#"
		case !fmore:
			return false
		}
		filter, name = frest, nrest
	}
}
