#!/bin/bash
# Fault: a supervisor loop restarting a program that fails (exit 1) after
# ~100 ms, with a 200 ms back-off: a failure every ~0.3 s.
end=$((SECONDS + ${DUR:-20}))
while [ $SECONDS -lt $end ]; do
	sh -c 'sleep 0.1; exit 1'
	sleep 0.2
done
