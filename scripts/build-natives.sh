#!/usr/bin/env bash
# Builds every native plugin (plugins/native/<id>) into OUT/atom-provider-<id>,
# JOBS at a time (default 2), printing progress: on a terminal one line
# that counts up, otherwise a line every few plugins. Go's build cache makes
# unchanged plugins cheap. Usage: build-natives.sh OUT [JOBS]
set -euo pipefail
out=${1:?usage: build-natives.sh OUT [JOBS]}
jobs_max=${2:-2}
go=${GO:-go}
cd "$(dirname "$0")/.."
mkdir -p "$out"

ids=()
for m in plugins/native/*/main.go; do
	ids+=("$(basename "$(dirname "$m")")")
done
total=${#ids[@]}
tty=false
[ -t 1 ] && tty=true
step=$(( total / 4 > 0 ? total / 4 : 1 ))

done_n=0
running=0
failed=()
progress() {
	if $tty; then
		printf '\rbuilding %d native plugins… %d/%d' "$total" "$done_n" "$total"
	elif (( done_n % step == 0 || done_n == total )); then
		printf 'building %d native plugins… %d/%d\n' "$total" "$done_n" "$total"
	fi
}
reap() {
	local st=0
	wait -n -p pid || st=$?
	running=$((running - 1))
	done_n=$((done_n + 1))
	if (( st != 0 )); then
		failed+=("${names[$pid]}")
	fi
	progress
}

declare -A names
$tty && progress
for id in "${ids[@]}"; do
	while (( running >= jobs_max )); do reap; done
	# Written then renamed, so a running host never loads half a binary.
	( "$go" build -trimpath -ldflags '-s -w' -o "$out/.atom-provider-$id.tmp" "./plugins/native/$id" &&
		mv "$out/.atom-provider-$id.tmp" "$out/atom-provider-$id" ) &
	names[$!]=$id
	running=$((running + 1))
done
while (( running > 0 )); do reap; done
$tty && printf '\n'
if (( ${#failed[@]} > 0 )); then
	echo "build-natives: failed: ${failed[*]}" >&2
	exit 1
fi
echo "built $total native plugins into $out"
