// Package cgroupfs finds where the cgroup hierarchies are mounted, for the
// packages that read a controller's limits (memory, cpu). Hosts are pure v2,
// pure v1, or hybrid (v1 controllers beside a unified hierarchy that holds
// few or none), so each reader asks for both mounts and picks.
package cgroupfs

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mounts finds, below root (the host's / as this process sees it), the
// cgroup2 mount and the mount of the v1 hierarchy that holds controller.
// Mounts of a cgroup below its hierarchy's root (a cgroup namespace, a
// container) are skipped: they cannot resolve the host's paths. Without
// /proc/self/mountinfo, or when it lists no cgroup mount at all, it falls
// back to the usual layout under sys/fs/cgroup, where probe (a file only
// the v1 controller's hierarchy has, such as "memory/memory.limit_in_bytes")
// tells whether controller is mounted there.
func Mounts(root, controller, probe string) (unified, v1 string) {
	if f, err := os.Open(filepath.Join(root, "proc/self/mountinfo")); err == nil {
		defer f.Close()
		sawCgroup := false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
			fields := strings.Fields(sc.Text())
			sep := -1
			for i, fl := range fields {
				if fl == "-" {
					sep = i
					break
				}
			}
			if sep < 5 || len(fields) < sep+4 {
				continue
			}
			fstype := fields[sep+1]
			if fstype != "cgroup" && fstype != "cgroup2" {
				continue
			}
			sawCgroup = true
			if fields[3] != "/" {
				continue
			}
			point := filepath.Join(root, Unescape(fields[4]))
			if fstype == "cgroup2" {
				if unified == "" {
					unified = point
				}
				continue
			}
			for _, o := range strings.Split(fields[sep+3], ",") {
				if o == controller && v1 == "" {
					v1 = point
				}
			}
		}
		if sawCgroup {
			return unified, v1
		}
	}
	base := filepath.Join(root, "sys/fs/cgroup")
	if Exists(filepath.Join(base, "cgroup.controllers")) {
		return base, ""
	}
	if Exists(filepath.Join(base, "unified/cgroup.controllers")) {
		unified = filepath.Join(base, "unified")
	}
	if Exists(filepath.Join(base, probe)) {
		v1 = filepath.Join(base, controller)
	}
	return unified, v1
}

// Exists says whether p can be stat'ed.
func Exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Unescape undoes mountinfo's octal escapes of space, tab, newline and '\'.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
