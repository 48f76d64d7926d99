#!/bin/bash
# Benign: an idle host (the harness's own collector only).
sleep "${DUR:-20}"
