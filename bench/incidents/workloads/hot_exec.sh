#!/bin/bash
# Fault: a short program exec'd as fast as the cores allow (one loop per
# core), for DUR seconds; every run succeeds.
end=$((SECONDS + ${DUR:-10}))
for _ in $(seq 1 "$(nproc)"); do
	( while [ $SECONDS -lt $end ]; do /bin/true; done ) &
done
wait
