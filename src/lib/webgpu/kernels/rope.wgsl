// Rotary position embedding (RoPE), in place, Gemma-2 / HF layout: non-interleaved halves.
//
//   x        [T, heads, hd] f32, rotated in place (q or k, or their gradients)
//   inv_freq [hd/2]         f32, theta^(-2k/hd) computed on the CPU exactly as HF does in f32
//
// One thread owns one (token t, frequency k) pair and rotates the pair (x[k], x[k + hd/2]) of
// every head: the angle and its sin/cos are computed once and reused across heads.
//
// Forward (spec step 3):  x' = x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x2, x1), i.e.
//   x1' = x1·c − x2·s,   x2' = x2·c + x1·s
// Backward (spec, backward): dx = dy·cos + Rᵀ(dy·sin), Rᵀ(v) = cat(v2, −v1), i.e.
//   dx1 = dy1·c + dy2·s, dx2 = dy2·c − dy1·s
// — the transpose of a rotation is the rotation by −angle, so backward = forward with s → −s.

// Bindings: ROPE_BINDINGS in rope.ts, prepended to this file.

struct Params {
	T: u32,
	heads: u32,
	hd: u32,
	pos0: u32,
}

// 64 threads (rope.ts sets it): one wave on every vendor; the work is a flat list of (t, k) pairs.
override WORKGROUP_SIZE: u32 = 64u;

// sin and cos of an f32 angle, accurate to about 1 ulp for |a| up to ~8192 (positions up to the
// 8192 of Gemma-2's max_position_embeddings with inv_freq[0] = 1).
//
// Why not the builtins: WGSL only promises an absolute error of 2^-11 for sin/cos on [−π, π] and
// nothing outside it, and GPUs do implement them with fast hardware approximations whose error
// grows with |a|. HF computes cos/sin of the f32 angle with an accurate libm, so we do the same:
// Cody–Waite reduction by π/2 (π/2 split in three parts with few mantissa bits, so n·C1 and n·C2
// are exact for n < 2^13), then Cephes' sinf/cosf minimax polynomials on [−π/4, π/4].
fn sincos(a: f32) -> vec2<f32> {
	let n = round(a * 0.63661977236758134); // a / (π/2)
	var r = a - n * 1.5703125;
	r = r - n * 4.837512969970703125e-4;
	r = r - n * 7.54978995489188216e-8;
	let z = r * r;
	let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
	let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z
		- 0.5 * z + 1.0;
	// a = n·π/2 + r: each quarter turn maps (sin, cos) → (cos, −sin).
	switch (i32(n) & 3) {
		case 0: { return vec2<f32>(s, c); }
		case 1: { return vec2<f32>(c, -s); }
		case 2: { return vec2<f32>(-s, -c); }
		default: { return vec2<f32>(-c, s); }
	}
}

// sign = +1 rotates forward, −1 applies the transpose (backward).
fn rotate(gid: vec3<u32>, nwg: vec3<u32>, sign: f32) {
	let half = p.hd / 2u;
	let idx = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
	if (idx >= p.T * half) {
		return;
	}
	let t = idx / half;
	let k = idx % half;
	// HF's f32 behaviour: angle = f32(pos) · inv_freq (one correctly rounded f32 product), then an
	// accurate cos/sin of that f32 value. Positions are exact in f32 up to 2^24.
	let angle = f32(p.pos0 + t) * inv_freq[k];
	let sc = sincos(angle);
	let s = sign * sc.x;
	let c = sc.y;
	for (var h = 0u; h < p.heads; h++) {
		let i1 = (t * p.heads + h) * p.hd + k;
		let i2 = i1 + half;
		let x1 = x[i1];
		let x2 = x[i2];
		x[i1] = x1 * c - x2 * s;
		x[i2] = x2 * c + x1 * s;
	}
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rope_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	rotate(gid, nwg, 1.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rope_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	rotate(gid, nwg, -1.0);
}

// ---- rope_kv: decode's RoPE and KV append in one dispatch --------------------------------------
//
//   qkv [T, (H + 2·KV)·hd] f32 (the merged q | k | v projection of T tokens)
//   → q [T, H, hd] rotated;  k rotated and v → rows pos0 .. pos0 + T − 1 of the layer's cache
//     ([maxTokens, KV·hd]: the f32 bits, or with KV_F16 element pairs (d, d + 1) packed in one u32
//     by pack2x16float — the format attention.wgsl's kv_store_f16 writes and its loads read).
//
// One thread owns token t and the frequencies 2j, 2j + 1 (j < hd/4): the elements 2j, 2j + 1 and
// their partners 2j + hd/2, 2j + 1 + hd/2 of every head, i.e. whole packed words. The rotation is
// rope_forward's, the same f32 operations.

struct KvParams {
	T: u32,
	heads: u32,
	kv_heads: u32,
	hd: u32,
	pos0: u32,
}

override KV_F16: bool = false;

// Stores elements (d, d + 1) of a cache row starting at element `row` (f32 bits, or one f16 pair).
fn store_pair(k_cache: bool, row: u32, d: u32, a: f32, b: f32) {
	if (KV_F16) {
		let word = pack2x16float(vec2<f32>(a, b));
		if (k_cache) { kv_k[(row + d) / 2u] = word; } else { kv_v[(row + d) / 2u] = word; }
		return;
	}
	if (k_cache) {
		kv_k[row + d] = bitcast<u32>(a);
		kv_k[row + d + 1u] = bitcast<u32>(b);
	} else {
		kv_v[row + d] = bitcast<u32>(a);
		kv_v[row + d + 1u] = bitcast<u32>(b);
	}
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rope_kv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let hd = kp.hd;
	let half = hd / 2u;
	let quarter = hd / 4u;
	let idx = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
	if (idx >= kp.T * quarter) {
		return;
	}
	let t = idx / quarter;
	let d = 2u * (idx % quarter);
	let pos = kp.pos0 + t;
	let sc0 = sincos(f32(pos) * kv_inv_freq[d]);
	let sc1 = sincos(f32(pos) * kv_inv_freq[d + 1u]);
	let ld = (kp.heads + 2u * kp.kv_heads) * hd;
	let src = t * ld;
	for (var h = 0u; h < kp.heads + kp.kv_heads; h++) {
		let i = src + h * hd + d;
		let a1 = kv_qkv[i];
		let b1 = kv_qkv[i + 1u];
		let a2 = kv_qkv[i + half];
		let b2 = kv_qkv[i + half + 1u];
		let ra1 = a1 * sc0.y - a2 * sc0.x;
		let ra2 = a2 * sc0.y + a1 * sc0.x;
		let rb1 = b1 * sc1.y - b2 * sc1.x;
		let rb2 = b2 * sc1.y + b1 * sc1.x;
		if (h < kp.heads) {
			let o = (t * kp.heads + h) * hd + d;
			kv_q[o] = ra1;
			kv_q[o + 1u] = rb1;
			kv_q[o + half] = ra2;
			kv_q[o + half + 1u] = rb2;
		} else {
			let row = (pos * kp.kv_heads + h - kp.heads) * hd;
			store_pair(true, row, d, ra1, rb1);
			store_pair(true, row, d + half, ra2, rb2);
		}
	}
	// v: copied (no rotation), the same elements of every kv head
	for (var h = 0u; h < kp.kv_heads; h++) {
		let i = src + (kp.heads + kp.kv_heads + h) * hd + d;
		let row = (pos * kp.kv_heads + h) * hd;
		store_pair(false, row, d, kv_qkv[i], kv_qkv[i + 1u]);
		store_pair(false, row, d + half, kv_qkv[i + half], kv_qkv[i + half + 1u]);
	}
}
