#!/bin/sh
# Instructions per operation of one ipc-sentry test (bench/profile.ts), as
# callgrind counts them: a run of 15 samples minus a run of 5, over 10
# samples' operations. The VM's noise does not reach this measure, but runs
# of one build still differ by up to about 5 % (JIT decisions vary a little
# under valgrind), so compare builds measured side by side. Needs valgrind;
# takes about four minutes.
#
#   sh bench/instructions.sh TEST [OPS]
set -eu
test=$1
ops=${2:-100000}
command -v valgrind >/dev/null || { echo "bench/instructions.sh: valgrind is not installed" >&2; exit 2; }
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --single-threaded --import tsx bench/profile.ts "$test" "$ops" "$1" 2>&1 >/dev/null |
    awk '/Collected/ { print $4 }'
}
cd "$(dirname "$0")/.."
few=$(count 5)
many=$(count 15)
echo "$test: $(( (many - few) / (10 * ops) )) instructions per operation"
