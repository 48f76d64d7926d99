#!/bin/bash
# Fault: one process spinning a core for DUR seconds. It runs at nice -15
# so that it does spin a whole core on a host shared with other work (CI
# runs test packages in parallel); the rule reads its CPU time as is.
timeout "${DUR:-30}" nice -n -15 sh -c 'while :; do :; done'
true
