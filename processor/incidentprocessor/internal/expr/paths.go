package expr

import (
	"fmt"
	"regexp"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// attrPath finds the attribute reads of an OTTL condition: an optional
// context prefix (resource., log., datapoint.) before attributes["key"].
var attrPath = regexp.MustCompile(`(?:\b(resource|log|datapoint)\.)?\battributes\s*\[\s*"([^"]+)"\s*\]`)

// CheckPaths rejects a where that reads an attribute where the rule's
// records never carry it: lifecycle records hold a process's identity in
// their own attributes, process metrics on the resource. Such a condition
// would compile, then silently match nothing (or everything). Keys this
// project does not write are left alone: other sources may add them.
func CheckPaths(where string, sig contract.Signal) error {
	for _, m := range attrPath.FindAllStringSubmatch(where, -1) {
		read := contract.Record
		if m[1] == "resource" {
			read = contract.Resource
		}
		want, known := contract.PlaceOf(sig, m[2])
		if !known || want == read {
			continue
		}
		return fmt.Errorf("%s reads %s, which %s never carry there: they carry it as a %s attribute, so write %s",
			m[0], m[2], signalName(sig), want, spell(want, m[2]))
	}
	return nil
}

func signalName(sig contract.Signal) string {
	if sig == contract.Lifecycle {
		return "lifecycle records (rate, short_lived rules)"
	}
	return "process metrics (threshold, ratio, trend rules)"
}

func spell(p contract.Place, key string) string {
	if p == contract.Resource {
		return fmt.Sprintf(`resource.attributes[%q]`, key)
	}
	return fmt.Sprintf(`attributes[%q]`, key)
}
