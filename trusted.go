package herald

import (
	"net/netip"

	"github.com/heraldhq/herald/internal/core"
)

// trustedProxies parses Options.TrustedProxies; Open has reported any
// invalid entry already, so here they are simply skipped.
func trustedProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := core.ParseTrustedProxies([]string{s}); err == nil {
			out = append(out, p...)
		}
	}
	return out
}
