//go:build ignore

// Process lifecycle capture: one ring-buffer record per fork, exec and exit.
//
// Records are variable length (header + strings) so that a short command
// line costs a few hundred bytes of ring space instead of the worst case.
// They are assembled in a per-CPU scratch buffer and copied out with
// bpf_ringbuf_output; tracepoints run with preemption disabled, so the
// scratch buffer cannot be shared by two invocations on one CPU.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// Record types, the type field of struct event_hdr. bpf2go emits them as Go
// constants (-type event_type), which the decoder uses.
enum event_type {
	EVENT_FORK = 1,
	EVENT_EXEC = 2,
	EVENT_EXIT = 3,
};

// Bits of the flags field of struct event_hdr (-type event_flag).
enum event_flag {
	FLAG_ARGV_TRUNCATED = 0x1,
	FLAG_THREAD = 0x2,
	FLAG_FILENAME_TRUNCATED = 0x4,
	FLAG_CGROUP_TRUNCATED = 0x8,
	// The executed file has no name in any directory: a memfd, or a file
	// deleted since it was opened (its link count is zero).
	FLAG_FILELESS = 0x10,
	FLAG_CWD_TRUNCATED = 0x20,
	// Exit of a process the OOM killer chose; oom_rss_bytes is set.
	FLAG_OOM_KILLED = 0x40,
};

// Task flags the iterator and user space interpret (-type task_flag).
enum task_flag {
	PF_KTHREAD = 0x00200000,
};

// Limits user space configures within. bpf/limits.go holds the same numbers
// for code that builds without the object; TestLimitsMatchBTF compares them.
enum limits {
	// Strings before argv are written at offsets masked with PRE_ARGV_MASK,
	// argv itself is at most ARGV_MAX_LEN: the verifier can then prove every
	// write stays inside the scratch buffer.
	ARGV_MAX_LEN = 16384,
	ARGV_DEFAULT_LEN = 4096,
	RING_BUFFER_DEFAULT = 4 << 20,
	RING_BUFFER_MIN = 4096, // one page
};

#define CGROUP_MAX_DEPTH 12
#define CGROUP_NAME_MAX 256
// Paths are built backwards in scratch.path, PATH_MAX_LEN bytes at most
// (the kernel's PATH_MAX), one component of at most NAME_MAX_LEN bytes per
// step and PATH_MAX_DEPTH steps (mount crossings included).
#define PATH_MAX_LEN 4096
#define PATH_MASK (PATH_MAX_LEN - 1)
#define NAME_MAX_LEN 255
#define PATH_MAX_DEPTH 64
// Header, executable path, working directory and cgroup path stay below
// PRE_ARGV_MASK + 1 bytes (136 + 4095 + 4095 + 12 * 256); argv follows, so
// that PRE_ARGV_MASK + ARGV_MAX_LEN fits SCRATCH_SIZE.
#define PRE_ARGV_MASK 0x3fff
#define SCRATCH_SIZE 32768
#define OOM_VICTIMS_MAX 1024

// Keep in sync with bpf/event.go; TestHeaderLayoutMatchesBTF checks it.
struct event_hdr {
	__u64 timestamp_ns; // CLOCK_BOOTTIME
	__u64 start_ns;     // thread-group leader start, CLOCK_BOOTTIME
	__u64 cgroup_id;
	__u32 type;
	__u32 pid; // thread group id
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 egid;
	__u32 exit_code; // wait(2) status: code << 8 | signal | 0x80 for core
	__u32 flags;
	__u32 cgroup_hierarchy; // 0: cgroup v2, otherwise the v1 hierarchy id
	__u16 filename_len;
	__u16 cgroup_len;
	__u32 argv_len;
	__u32 argv_total_len;
	char comm[16];
	// Exit records: CPU time of the whole thread group, so that a process
	// that lived between two samples still has its CPU time reported.
	__u64 cpu_runtime_ns;
	__u64 cpu_user_ns;
	__u64 cpu_system_ns;
	__u64 oom_rss_bytes; // exit of an OOM victim: resident memory at the kill
	__u16 cwd_len;       // exec records: the working directory follows the filename
	__u16 pad16;
	__u32 pad32;
};

// One record per task (thread) from the task iterator. Thread-group totals
// of exited threads (dead_*) and memory are filled on the leader only; user
// space sums the threads of a group.
struct task_sample {
	__u64 start_ns; // leader start, CLOCK_BOOTTIME
	__u64 runtime_ns;
	__u64 utime_ns;
	__u64 stime_ns;
	__u64 min_flt;
	__u64 maj_flt;
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 dead_runtime_ns;
	__u64 dead_utime_ns;
	__u64 dead_stime_ns;
	__u64 dead_min_flt;
	__u64 dead_maj_flt;
	__u64 dead_nvcsw;
	__u64 dead_nivcsw;
	__u64 rss_pages;
	__u64 vm_pages;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 euid;
	__u32 state;
	__u32 exit_state;
	__u32 flags;
	__u32 nr_threads;
	char comm[16];
};

// One record per process (thread-group leader) from the executables
// iterator, followed by path_len bytes of its executable's path.
struct exe_sample {
	__u64 start_ns; // CLOCK_BOOTTIME
	__u32 pid;
	__u16 path_len;
	__u16 flags; // FLAG_FILELESS, FLAG_FILENAME_TRUNCATED
};
// Emits these types into BTF: the layout tests check the hand-written Go
// mirrors of the structs (bpf/event.go, bpf/tasks.go) against it, bpf2go
// turns the enums into Go constants, and TestLimitsMatchBTF reads limits.
const struct event_hdr *unused_event_hdr __attribute__((unused));
const struct task_sample *unused_task_sample __attribute__((unused));
const struct exe_sample *unused_exe_sample __attribute__((unused));
const enum event_type *unused_event_type __attribute__((unused));
const enum event_flag *unused_event_flag __attribute__((unused));
const enum task_flag *unused_task_flag __attribute__((unused));
const enum limits *unused_limits __attribute__((unused));

struct scratch {
	char buf[SCRATCH_SIZE];
};

// Where put_path builds a path backwards: room for a whole path plus one
// component written at its lowest offset, so that the verifier can bound
// every write by its mask. A map of its own: per-CPU values are at most
// 32 KiB, all of which the record's buffer takes.
struct path_scratch {
	__u32 pos;   // start of the path built so far, in buf
	__u32 state; // enum walk_state
	char buf[PATH_MAX_LEN + NAME_MAX_LEN + 1];
};

enum walk_state {
	WALK_RUNNING,
	WALK_DONE,     // reached the root
	WALK_DETACHED, // reached a dentry in no directory
};

// Set from user space before load.
const volatile __u32 argv_max = ARGV_DEFAULT_LEN;
const volatile bool include_threads = false;
// Kernels since 6.16 pass group_dead to sched_process_exit; older ones do
// not, and reading a second argument there would fail verification. There,
// the thread that takes signal->live to zero (do_exit decrements it before
// the tracepoint) is the group's last; two threads exiting at once may both
// see zero, and user space drops the second record.
const volatile bool exit_has_group_dead = false;
// Which v1 hierarchy to read on hosts whose processes all sit at the v2 root
// (hybrid mode): 0 disables the fallback.
const volatile __u32 v1_subsys_id = 0;
// Records are submitted without waking the reader, which drains the ring
// on a short timer, until the ring holds wakeup_bytes: then the reader is
// woken at once. 0 wakes it for every record (the kernel's default policy).
const volatile __u64 wakeup_bytes = 0;
// With wakeup_bytes, a record also wakes the reader when none has for
// wakeup_ns: the first record after a quiet spell is read at once, and a
// reader that drained the ring wakeup_ns after the last wakeup and found
// it empty can sleep until the next one instead of polling an idle ring.
const volatile __u64 wakeup_ns = 0;
// last_wakeup is when a record last woke the reader. Several CPUs may race
// on it; the cost of a lost update is one extra wakeup.
__u64 last_wakeup = 0;
const volatile __u32 page_size = 4096;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_BUFFER_DEFAULT);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_map SEC(".maps");

// The executables iterator's buffers: not per CPU, since it may be
// preempted mid-walk where a tracepoint program on the same CPU would reuse
// the per-CPU ones; user space runs it once at a time.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} exe_scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} exe_path_map SEC(".maps");

// Ring-buffer reserve failures, per CPU, indexed by event type.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EVENT_EXIT + 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// Resident memory in bytes of the processes the OOM killer chose, by tgid,
// until their exit record carries it. LRU: a victim whose exit is never
// seen (the program was attached in between) ages out.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, OOM_VICTIMS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} oom_victims SEC(".maps");

struct kernfs_node___pre615 {
	struct kernfs_node *parent;
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

// Before 6.2, mm->rss_stat was a struct of atomic counters; since, it is an
// array of percpu_counter whose .count is what /proc/PID/status reports.
struct mm_rss_stat {
	atomic_long_t count[4];
};
struct mm_struct___pre62 {
	struct mm_rss_stat rss_stat;
};

#define MM_FILEPAGES 0
#define MM_ANONPAGES 1
#define MM_SHMEMPAGES 3

static __always_inline __s64 mm_counter(struct mm_struct *mm, int i)
{
	if (bpf_core_type_exists(struct mm_rss_stat)) {
		struct mm_struct___pre62 *old = (void *)mm;
		return BPF_CORE_READ(old, rss_stat.count[i].counter);
	}
	return BPF_CORE_READ(mm, rss_stat[i].count);
}

static __always_inline __u64 rss_pages(struct mm_struct *mm)
{
	__s64 n = mm_counter(mm, MM_FILEPAGES) + mm_counter(mm, MM_ANONPAGES) +
		  mm_counter(mm, MM_SHMEMPAGES);
	return n > 0 ? n : 0;
}

struct task_struct___pre514 {
	long state;
};

// t is the iterator's trusted task: plain loads, see dump_task.
static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre514 *)t)->state;
}

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline void fill_common(struct event_hdr *h, enum event_type type, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	h->timestamp_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(leader, start_boottime);
	h->type = type;
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = BPF_CORE_READ(task, cred, uid.val);
	h->euid = BPF_CORE_READ(task, cred, euid.val);
	h->gid = BPF_CORE_READ(task, cred, gid.val);
	h->egid = BPF_CORE_READ(task, cred, egid.val);
	h->cgroup_id = 0;
	h->cgroup_hierarchy = 0;
	h->exit_code = 0;
	h->flags = 0;
	h->filename_len = 0;
	h->cgroup_len = 0;
	h->argv_len = 0;
	h->argv_total_len = 0;
	h->cpu_runtime_ns = 0;
	h->cpu_user_ns = 0;
	h->cpu_system_ns = 0;
	h->oom_rss_bytes = 0;
	h->cwd_len = 0;
	h->pad16 = 0;
	h->pad32 = 0;
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

// Writes the cgroup path as NUL-terminated names, leaf first, and returns
// the new offset. The v2 path is used unless the task sits at the v2 root on
// a host that still mounts v1 controllers; container runtimes then put the
// container id in the v1 path.
static __always_inline __u32 put_cgroup(struct scratch *s, struct event_hdr *h, __u32 off,
					struct task_struct *task)
{
	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	__u32 hierarchy = 0;

	if (v1_subsys_id != 0 && kn && !kn_parent(kn)) {
		struct cgroup_subsys_state *css;
		__u32 id = v1_subsys_id;

		if (id < 12) {
			css = BPF_CORE_READ(task, cgroups, subsys[id]);
			if (css) {
				cgrp = BPF_CORE_READ(css, cgroup);
				kn = BPF_CORE_READ(cgrp, kn);
				hierarchy = BPF_CORE_READ(cgrp, root, hierarchy_id);
			}
		}
	}
	if (!kn)
		return off;
	h->cgroup_id = BPF_CORE_READ(kn, id);
	h->cgroup_hierarchy = hierarchy;

	__u32 start = off;
	for (int i = 0; i < CGROUP_MAX_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent)
			break; // the root's name is not part of the path
		const char *name = BPF_CORE_READ(kn, name);
		long n = bpf_probe_read_kernel_str(&s->buf[off & PRE_ARGV_MASK], CGROUP_NAME_MAX, name);
		if (n <= 0)
			break;
		off += n;
		kn = parent;
		if (i == CGROUP_MAX_DEPTH - 1 && kn_parent(kn))
			h->flags |= FLAG_CGROUP_TRUNCATED;
	}
	h->cgroup_len = off - start;
	return off;
}

// Writes the path of (dentry, vfsmnt) at s->buf[off] and returns its
// length; *trunc is set when only its last components fit. The walk is the
// kernel's d_path: up the dentries to the mount's root, across to the mount
// point in the parent mount, until the task's root (a chroot, a container's
// pivot_root) or the root of its mount namespace. A dentry that is its own
// parent without being a mount's root is in no directory (a memfd, a pipe):
// its name alone is the path, "memfd:NAME" for a memfd.
//
// The write position lives in the map, read back through a volatile load
// each step: the verifier then sees the same unknown, bounded scalar at
// the top of every iteration and can prune, where a position tracked in a
// register makes every step's state distinct and the loop too costly to
// verify.
static __always_inline __u32 put_path(struct scratch *s, __u32 off, struct path_scratch *ps,
				      struct dentry *dentry, struct vfsmount *vfsmnt, struct fs_struct *fs,
				      bool *trunc)
{
	struct dentry *root_dentry = BPF_CORE_READ(fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(fs, root.mnt);
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	__u32 pos, len;

	if (!ps || !dentry || !vfsmnt)
		return 0;
	ps->pos = PATH_MAX_LEN;
	ps->state = WALK_RUNNING;
	for (int i = 0; i < PATH_MAX_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			ps->state = WALK_DONE;
			break;
		}
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
			if (parent == mnt) {
				ps->state = WALK_DONE;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			vfsmnt = (void *)parent + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		struct dentry *up = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		len = BPF_CORE_READ(dentry, d_name.len);
		pos = *(volatile __u32 *)&ps->pos;
		if (len > NAME_MAX_LEN || pos > PATH_MAX_LEN || len + 1 >= pos)
			break;
		pos -= len;
		bpf_probe_read_kernel(&ps->buf[pos & PATH_MASK], len & NAME_MAX_LEN, name);
		if (up == dentry) {
			ps->pos = pos;
			ps->state = WALK_DETACHED;
			break;
		}
		pos -= 1;
		ps->buf[pos & PATH_MASK] = '/';
		ps->pos = pos;
		dentry = up;
	}
	pos = *(volatile __u32 *)&ps->pos;
	if (pos > PATH_MAX_LEN)
		return 0;
	if (ps->state == WALK_RUNNING)
		*trunc = true;
	if (pos == PATH_MAX_LEN && ps->state != WALK_DETACHED) {
		pos -= 1;
		ps->buf[pos & PATH_MASK] = '/';
	}
	len = PATH_MAX_LEN - pos;
	if (len > PATH_MASK)
		len = PATH_MASK;
	bpf_probe_read_kernel(&s->buf[off & PRE_ARGV_MASK], len, &ps->buf[pos & PATH_MASK]);
	return len;
}

static __always_inline struct path_scratch *get_path_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&path_map, &zero);
}

// Writes at s->buf[off] the path of the task's executable (mm->exe_file:
// the binary the kernel mapped, the interpreter of a script), returns its
// length and sets FLAG_FILELESS and FLAG_FILENAME_TRUNCATED in *flags.
static __always_inline __u32 put_exe_path(struct scratch *s, __u32 off, struct path_scratch *ps,
					  struct task_struct *task, __u32 *flags)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	bool trunc = false;

	if (!exe)
		return 0;
	__u32 n = put_path(s, off, ps, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt),
			   BPF_CORE_READ(task, fs), &trunc);
	if (BPF_CORE_READ(exe, f_inode, i_nlink) == 0)
		*flags |= FLAG_FILELESS;
	if (trunc)
		*flags |= FLAG_FILENAME_TRUNCATED;
	return n;
}

// Writes the task's executable path after the record's header.
static __always_inline __u32 put_exe(struct scratch *s, struct event_hdr *h, __u32 off,
				     struct task_struct *task)
{
	__u32 n = put_exe_path(s, off, get_path_scratch(), task, &h->flags);

	h->filename_len = n;
	return off + n;
}

static __always_inline void emit(struct scratch *s, struct event_hdr *h, __u32 size)
{
	__u64 flags = 0;

	if (size > SCRATCH_SIZE)
		size = SCRATCH_SIZE;
	if (wakeup_bytes) {
		// Wake the reader only when this record takes the ring past the
		// threshold or none has woken it for wakeup_ns; its timer
		// collects the records in between.
		__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		__u64 now = bpf_ktime_get_ns();

		flags = BPF_RB_NO_WAKEUP;
		if ((avail < wakeup_bytes && avail + size >= wakeup_bytes) ||
		    now - last_wakeup >= wakeup_ns) {
			flags = BPF_RB_FORCE_WAKEUP;
			last_wakeup = now;
		}
	}
	if (bpf_ringbuf_output(&events, s->buf, size, flags) != 0) {
		__u32 key = h->type;
		__u64 *cnt = bpf_map_lookup_elem(&lost, &key);
		if (cnt)
			*cnt += 1;
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	bool thread = BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid);
	if (thread && !include_threads)
		return 0;

	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct event_hdr *h = (struct event_hdr *)s->buf;
	fill_common(h, EVENT_FORK, child);
	if (thread)
		h->flags |= FLAG_THREAD;
	// The child runs its process's image: for a thread, the image of the
	// process it joins, not of that process's parent.
	__u32 off = put_exe(s, h, sizeof(*h), child);
	off = put_cgroup(s, h, off, child);
	emit(s, h, off);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct event_hdr *h = (struct event_hdr *)s->buf;
	fill_common(h, EVENT_EXEC, task);

	// The new image is in place: mm->exe_file is the file the kernel
	// executed (for a script, its interpreter), as /proc/PID/exe names it.
	__u32 off = put_exe(s, h, sizeof(*h), task);

	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	bool trunc = false;
	__u32 n = put_path(s, off, get_path_scratch(), BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
			   fs, &trunc);
	h->cwd_len = n;
	if (trunc)
		h->flags |= FLAG_CWD_TRUNCATED;
	off += n;

	off = put_cgroup(s, h, off, task);

	// The new image's argv: at this point the arguments were just copied
	// to the new stack, so the pages are present.
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 total = arg_end > arg_start ? arg_end - arg_start : 0;
	__u32 want = total > argv_max ? argv_max : total;
	if (want > ARGV_MAX_LEN)
		want = ARGV_MAX_LEN;
	h->argv_total_len = total > 0xffffffff ? 0xffffffff : total;
	if (want < total)
		h->flags |= FLAG_ARGV_TRUNCATED;
	off &= PRE_ARGV_MASK;
	if (want > 0 && bpf_probe_read_user(&s->buf[off], want, (void *)arg_start) == 0) {
		h->argv_len = want;
		off += want;
	}
	emit(s, h, off);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	bool last;
	if (exit_has_group_dead)
		last = (bool)ctx[1];
	else
		last = BPF_CORE_READ(task, signal, live.counter) == 0;
	bool thread = !last;
	if (thread && !include_threads)
		return 0;

	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct event_hdr *h = (struct event_hdr *)s->buf;
	fill_common(h, EVENT_EXIT, task);
	h->exit_code = BPF_CORE_READ(task, exit_code);
	if (thread) {
		h->flags |= FLAG_THREAD;
	} else {
		// Threads released before this one were folded into signal; the
		// exiting task and a leader that exited earlier (and waits, a
		// zombie, for its group) still hold their own times.
		struct signal_struct *sig = BPF_CORE_READ(task, signal);
		struct task_struct *leader = BPF_CORE_READ(task, group_leader);
		h->cpu_runtime_ns = BPF_CORE_READ(sig, sum_sched_runtime) + BPF_CORE_READ(task, se.sum_exec_runtime);
		h->cpu_user_ns = BPF_CORE_READ(sig, utime) + BPF_CORE_READ(task, utime);
		h->cpu_system_ns = BPF_CORE_READ(sig, stime) + BPF_CORE_READ(task, stime);
		if (leader != task) {
			h->cpu_runtime_ns += BPF_CORE_READ(leader, se.sum_exec_runtime);
			h->cpu_user_ns += BPF_CORE_READ(leader, utime);
			h->cpu_system_ns += BPF_CORE_READ(leader, stime);
		}
		__u32 tgid = h->pid;
		__u64 *rss = bpf_map_lookup_elem(&oom_victims, &tgid);
		if (rss) {
			h->flags |= FLAG_OOM_KILLED;
			h->oom_rss_bytes = *rss;
			bpf_map_delete_elem(&oom_victims, &tgid);
		}
	}
	__u32 off = put_cgroup(s, h, sizeof(*h), task);
	emit(s, h, off);
	return 0;
}

// The OOM killer chose task. User space attaches this only where the
// tracepoint passes the task (older kernels pass a pid alone). Its resident
// memory is read now: by its exit the OOM reaper may have freed it.
SEC("tp_btf/mark_victim")
int BPF_PROG(handle_oom, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 rss = mm ? rss_pages(mm) * page_size : 0;

	bpf_map_update_elem(&oom_victims, &tgid, &rss, BPF_ANY);
	return 0;
}

// Samples every task for the metrics signal; read through a bpf_iter link
// once per collection interval.
//
// The task is a trusted BTF pointer: its fields, and those of the structs
// it points to, are read with plain CO-RE relocated loads (the verifier
// makes the pointer walks fault-safe) instead of a bpf_probe_read_kernel
// call per field, which cost about a quarter of the iterator's CPU time at
// a thousand processes.
SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_sample s = {};

	if (!task)
		return 0;
	s.pid = task->tgid;
	s.tid = task->pid;
	s.flags = task->flags;
	if (s.pid != s.tid && (s.flags & PF_KTHREAD))
		return 0;
	s.state = task_state(task);
	s.exit_state = task->exit_state;
	s.start_ns = task->group_leader->start_boottime;
	s.runtime_ns = task->se.sum_exec_runtime;
	s.utime_ns = task->utime;
	s.stime_ns = task->stime;
	s.min_flt = task->min_flt;
	s.maj_flt = task->maj_flt;
	s.nvcsw = task->nvcsw;
	s.nivcsw = task->nivcsw;
	if (s.pid == s.tid) {
		struct signal_struct *sig = task->signal;
		struct mm_struct *mm = task->mm;

		s.ppid = task->real_parent->tgid;
		s.euid = task->cred->euid.val;
		s.nr_threads = sig->nr_threads;
		s.dead_runtime_ns = sig->sum_sched_runtime;
		s.dead_utime_ns = sig->utime;
		s.dead_stime_ns = sig->stime;
		s.dead_min_flt = sig->min_flt;
		s.dead_maj_flt = sig->maj_flt;
		s.dead_nvcsw = sig->nvcsw;
		s.dead_nivcsw = sig->nivcsw;
		if (mm) {
			s.rss_pages = rss_pages(mm);
			s.vm_pages = mm->total_vm;
		}
		BPF_CORE_READ_STR_INTO(&s.comm, task, comm);
	}
	bpf_seq_write(seq, &s, sizeof(s));
	return 0;
}

// Names the executable of every process, for the processes that were
// running before the collector: the same kernel-side path walk as the exec
// records, so that no /proc/PID/exe read (and no CAP_SYS_PTRACE for other
// users' processes) is needed. Read once at start-up.
SEC("iter/task")
int dump_exe(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	__u32 zero = 0, flags = 0;

	if (!task || task->pid != task->tgid || (task->flags & PF_KTHREAD))
		return 0;
	struct scratch *s = bpf_map_lookup_elem(&exe_scratch_map, &zero);
	struct path_scratch *ps = bpf_map_lookup_elem(&exe_path_map, &zero);
	if (!s || !ps)
		return 0;
	struct exe_sample *h = (struct exe_sample *)s->buf;
	__u32 n = put_exe_path(s, sizeof(*h), ps, task, &flags);
	h->start_ns = task->start_boottime;
	h->pid = task->tgid;
	h->path_len = n;
	h->flags = flags;
	n += sizeof(*h);
	if (n > sizeof(*h) + PATH_MASK)
		return 0;
	bpf_seq_write(seq, s->buf, n);
	return 0;
}
