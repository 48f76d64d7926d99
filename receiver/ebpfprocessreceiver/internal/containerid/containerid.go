// Package containerid derives a container id from a cgroup path, for the
// layouts Docker, containerd, CRI-O and Podman create under cgroup v1 and v2
// (cgroupfs and systemd drivers, Kubernetes included).
package containerid

import "strings"

// runtimePrefixes are the systemd scope prefixes of container runtimes.
var runtimePrefixes = []string{"docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"}

// FromCgroupPath returns the 64-hex container id of the innermost container
// the path belongs to, or "" when it is not a container's cgroup. Examples:
//
//	/docker/<id>
//	/system.slice/docker-<id>.scope
//	/kubepods/burstable/pod<uid>/<id>
//	/kubepods.slice/kubepods-besteffort.slice/…/cri-containerd-<id>.scope
//	/machine.slice/libpod-<id>.scope/container
func FromCgroupPath(path string) string {
	for path != "" {
		i := strings.LastIndexByte(path, '/')
		name := path[i+1:]
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
		if strings.HasPrefix(name, "crio-conmon-") {
			continue // the monitor runs beside the container, not in it
		}
		name = strings.TrimSuffix(name, ".scope")
		for _, p := range runtimePrefixes {
			if strings.HasPrefix(name, p) {
				name = name[len(p):]
				break
			}
		}
		if isID(name) {
			return name
		}
	}
	return ""
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
