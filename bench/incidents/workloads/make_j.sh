#!/bin/bash
# Benign: make -j4 of a generated C project (CI: 120 files; full: 400).
set -eu
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
n=120; [ "${LINNIX_CORPUS:-}" = full ] && n=400
objs=""
for i in $(seq 1 "$n"); do
	printf '#include <stdio.h>\nint f%d(int x){int s=0;for(int i=0;i<x;i++)s+=i*%d;return s;}\n' "$i" "$i" > "$dir/f$i.c"
	objs="$objs f$i.o"
done
printf 'int main(void){return 0;}\n' > "$dir/main.c"
printf 'all: prog\nprog: main.o %s\n\tcc -o $@ $^\n%%.o: %%.c\n\tcc -O1 -c $< -o $@\n' "$objs" > "$dir/Makefile"
timeout "${LIMIT:-600}" make -s -C "$dir" -j4
