package containerid

import (
	"strings"
	"testing"
)

func TestFromCgroupPath(t *testing.T) {
	id := strings.Repeat("3f9a", 16)
	cases := map[string]string{
		"/docker/" + id:                          id,
		"/system.slice/docker-" + id + ".scope":  id,
		"/kubepods/burstable/pod1234-5678/" + id: id,
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/cri-containerd-" + id + ".scope": id,
		"/kubepods.slice/kubepods-burstable.slice/x.slice/crio-" + id + ".scope":                                       id,
		"/machine.slice/libpod-" + id + ".scope/container":                                                             id,
		"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope":                             id,
		"/system.slice/crio-conmon-" + id + ".scope":                                                                   "",
		"/": "",
		"":  "",
		"/user.slice/user-1000.slice/session-3.scope":   "",
		"/process_api/54047cd10a7ab40f9253ab6c94c1b1c6": "",
		"/docker/" + strings.ToUpper(id):                "",
	}
	for path, want := range cases {
		if got := FromCgroupPath(path); got != want {
			t.Errorf("FromCgroupPath(%q) = %q, want %q", path, got, want)
		}
	}
}
