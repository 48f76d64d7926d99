# Sourced by the bench scripts: exit0_program DIR prints the path of a program
# that only exits 0, for spawn storms.
#
# A dynamically linked /bin/true costs ~4.8 ms of CPU per spawn on a small
# VM, most of it the loader mapping and relocating libc; a 2-core
# machine then cannot spawn more than a few hundred a second while the
# collector runs beside it. This one is static, without libc, and exits
# from its entry point (~1.4 ms per spawn on the same VM). For the collector
# every spawn is the same fork, exec and exit. Where no C compiler or no
# known architecture is found it falls back to /bin/true and says so.
exit0_program() {
	local dir=$1 cc syscall
	case $(uname -m) in
	x86_64) syscall='"mov $60, %eax\n xor %edi, %edi\n syscall"' ;;
	aarch64) syscall='"mov x8, #93\n mov x0, #0\n svc #0"' ;;
	*) syscall="" ;;
	esac
	for cc in "${CC:-cc}" clang gcc; do
		if [ -n "$syscall" ] && command -v "$cc" >/dev/null &&
			printf 'void _start(void) { __asm__ volatile(%s); }\n' "$syscall" |
			"$cc" -x c -O2 -static -nostdlib -o "$dir/exit0" - 2>/dev/null &&
			"$dir/exit0"; then
			echo "$dir/exit0"
			return
		fi
	done
	echo "no C compiler for $(uname -m): spawning /bin/true" >&2
	echo /bin/true
}
