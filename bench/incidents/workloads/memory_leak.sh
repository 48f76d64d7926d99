#!/bin/bash
# Fault: a process whose RSS grows +20 MiB/s (the harness binary's helper).
LINNIX_CORPUS_CHILD=grow timeout "${DUR:-40}" "$SELF" -test.run='^TestHelperProcess$'
true
