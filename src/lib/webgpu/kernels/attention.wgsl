// Gemma-2 attention over a KV cache, flash-style (online softmax), split over key ranges.
//
//   q   [T, H, hd]          f32, queries at positions pos0 .. pos0 + T − 1 (RoPE applied)
//   k,v [maxTokens, KV, hd] the cache, f32 or f16 (CACHE_F16: pairs (d, d+1) packed in one u32 word
//                            with pack2x16float — no shader-f16 needed); keys 0 .. pos0 + T − 1
//                            are valid, later rows are never read (they may hold anything)
//   out [T, H·hd]           f32 = softmax(mask(softcap(q·kᵀ·scale)))·v      (spec, step 4)
//
// attention_main: one workgroup owns a tile of QROWS query rows that share one kv head (GQA:
// query head h reads kv head h / group, so the rows of a tile are the (token, head) pairs
// (i, kvh·group + g) in order) and one key range ("split") of the cache. It walks its key range
// in blocks of KEY_BLOCK keys: each K/V block is loaded once into workgroup memory and used by all
// QROWS rows. With one split it writes the normalised output; with several it writes the
// unnormalised partial (m, l, acc) of its split and attention_combine merges the splits — the
// split-K ("flash decoding") shape that keeps a decode step (T = 1, thousands of keys) busy.
//
// Online softmax: for each row keep m = running max of the scores, l = Σ exp(s − m) and
// acc = Σ exp(s − m)·v. A new block with max m' rescales both by exp(m − m'); the result is
// acc / l, the same as softmax over all keys, without ever holding a full row of scores.
//
// Order of operations is HF's: s = (q·k)·scale, then s = cap·tanh(s / cap), then the mask.
// Mask: key j is visible to the query at position pos iff j ≤ pos (causal) and, with a sliding
// window W > 0, j > pos − W (the window includes the query itself: at most W keys).

struct Params {
	T: u32,
	pos0: u32,
	heads: u32,
	kv_heads: u32,
	hd: u32,
	group: u32,
	// 0 = global (causal only).
	window: u32,
	// First key any query of this call can see: keys below it are never loaded.
	key_lo: u32,
	keys_per_split: u32,
	num_splits: u32,
	scale: f32,
	// 0 = no softcap.
	softcap: f32,
	// 1 (one split only): also write each row's final (m, l) to ml [T, H, 2] — the statistics the
	// backward recomputes its probabilities from (lse = m + log l).
	keep_stats: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
// The cache as raw 32-bit words: one f32 each, or two packed f16 (see load_k4 / load_v4).
@group(0) @binding(1) var<storage, read> k: array<u32>;
@group(0) @binding(2) var<storage, read> v: array<u32>;
// num_splits = 1: out [T, H, hd]. Otherwise the partial acc [num_splits, T, H, hd].
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// Partial (m, l) [num_splits, T, H, 2]; with one split, the rows' (m, l) when keep_stats = 1.
@group(0) @binding(4) var<storage, read_write> ml: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// Largest head_dim held in workgroup memory (Gemma-2 2B: 256). head_dim must be a multiple of 4:
// rows are handled as vec4s.
const MAX_HD: u32 = 256u;
const MAX_HD4: u32 = MAX_HD / 4u;
// 64 threads: a whole wave everywhere, and 64 · vec4 = MAX_HD, so in the p·v step each thread
// owns one vec4 of output dims for every row of the tile.
const WORKGROUP_SIZE: u32 = 64u;
// Upper bound of QROWS (sizes the per-thread accumulator).
const MAX_QROWS: u32 = 8u;
// K/V rows are padded by one vec4 in workgroup memory: in the dot products, threads read the same
// column of different keys, and a 65-vec4 stride puts 8 consecutive keys on 8 distinct bank groups.
const KV_STRIDE4: u32 = MAX_HD4 + 1u;
// Stand-in for −∞ (WGSL has no infinities): exp(NEG − finite) = 0.
const NEG: f32 = -3.0e38;

// Tile sizes, chosen by attention.ts from the device's workgroup-memory limit:
// 16 KiB (WebGPU default): QROWS 4, KEY_BLOCK 8 → 12.5 KB; 32 KiB: QROWS 8, KEY_BLOCK 16 → 25 KB.
override QROWS: u32 = 4u;
override KEY_BLOCK: u32 = 8u;
// Cache element format, fixed per pipeline: f32 words, or f16 pairs packed in u32 words.
override CACHE_F16: bool = false;

var<workgroup> q_tile: array<vec4<f32>, QROWS * MAX_HD4>;
// The K block, then (same memory) the V block.
var<workgroup> kv_tile: array<vec4<f32>, KEY_BLOCK * KV_STRIDE4>;
// Scores of the current block, then (same slot) their probabilities exp(s − m).
var<workgroup> probs: array<f32, QROWS * KEY_BLOCK>;
// Per row: rescale factor exp(m_old − m_new) of the current block; final m and l.
var<workgroup> row_alpha: array<f32, MAX_QROWS>;
var<workgroup> row_m: array<f32, MAX_QROWS>;
var<workgroup> row_l: array<f32, MAX_QROWS>;

// Cache elements e .. e + 3 (e a multiple of 4) as f32. The f16 cache holds them in two words.
fn load_k4(e: u32) -> vec4<f32> {
	if (CACHE_F16) {
		return vec4<f32>(unpack2x16float(k[e / 2u]), unpack2x16float(k[e / 2u + 1u]));
	}
	return bitcast<vec4<f32>>(vec4<u32>(k[e], k[e + 1u], k[e + 2u], k[e + 3u]));
}

fn load_v4(e: u32) -> vec4<f32> {
	if (CACHE_F16) {
		return vec4<f32>(unpack2x16float(v[e / 2u]), unpack2x16float(v[e / 2u + 1u]));
	}
	return bitcast<vec4<f32>>(vec4<u32>(v[e], v[e + 1u], v[e + 2u], v[e + 3u]));
}

fn visible(j: u32, pos: u32) -> bool {
	return j <= pos && (p.window == 0u || j + p.window > pos);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
	let tile = wid.x;
	let kvh = wid.y;
	let split = wid.z;
	let rows_total = p.T * p.group;
	let row0 = tile * QROWS;
	let nrows = min(QROWS, rows_total - row0);
	let kv_len = p.pos0 + p.T;
	let kv_row = p.kv_heads * p.hd; // stride of one token in the cache, in elements
	let hd4 = p.hd / 4u;

	// The positions of this tile's rows span [pmin, pmax]; with the split's own range this bounds
	// the keys worth loading (uniform across the workgroup, as barriers require).
	let pmin = p.pos0 + row0 / p.group;
	let pmax = p.pos0 + (row0 + nrows - 1u) / p.group;
	var lo = p.key_lo + split * p.keys_per_split;
	var hi = min(lo + p.keys_per_split, kv_len);
	hi = min(hi, pmax + 1u);
	if (p.window > 0u && pmin + 1u > p.window) {
		lo = max(lo, pmin + 1u - p.window);
	}

	// Query rows → workgroup memory (row r ↔ token i = gr / group, head kvh·group + gr % group).
	// Columns ≥ hd/4 of the tiles are never written nor read.
	for (var idx = lid; idx < QROWS * hd4; idx += WORKGROUP_SIZE) {
		let r = idx / hd4;
		let c = idx % hd4;
		var val = vec4<f32>(0.0);
		if (r < nrows) {
			let gr = row0 + r;
			let h = kvh * p.group + gr % p.group;
			let e = ((gr / p.group) * p.heads + h) * p.hd + 4u * c;
			val = vec4<f32>(q[e], q[e + 1u], q[e + 2u], q[e + 3u]);
		}
		q_tile[r * MAX_HD4 + c] = val;
	}

	var m = NEG; // meaningful in threads lid < QROWS (one row each)
	var l = 0.0;
	// acc[r] = this thread's output dims 4·lid .. 4·lid + 3 of row r (threads lid ≥ hd/4 idle).
	var acc: array<vec4<f32>, MAX_QROWS>;
	for (var r = 0u; r < MAX_QROWS; r++) {
		acc[r] = vec4<f32>(0.0);
	}

	for (var jb = lo; jb < hi; jb += KEY_BLOCK) {
		workgroupBarrier(); // previous block's readers of kv_tile / probs are done

		// K block → workgroup memory; keys at or past `hi` are zeros (and masked below).
		for (var idx = lid; idx < KEY_BLOCK * hd4; idx += WORKGROUP_SIZE) {
			let jj = idx / hd4;
			let c = idx % hd4;
			let j = jb + jj;
			var val = vec4<f32>(0.0);
			if (j < hi) {
				val = load_k4(j * kv_row + kvh * p.hd + 4u * c);
			}
			kv_tile[jj * KV_STRIDE4 + c] = val;
		}
		workgroupBarrier();

		// Scores: s = softcap(q·k · scale), then the mask (NEG marks an invisible key).
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			let r = pair / KEY_BLOCK;
			let jj = pair % KEY_BLOCK;
			let j = jb + jj;
			var s = NEG;
			if (r < nrows && j < hi && visible(j, p.pos0 + (row0 + r) / p.group)) {
				var dot4 = vec4<f32>(0.0);
				for (var c = 0u; c < hd4; c++) {
					dot4 += q_tile[r * MAX_HD4 + c] * kv_tile[jj * KV_STRIDE4 + c];
				}
				s = (dot4.x + dot4.y + dot4.z + dot4.w) * p.scale;
				if (p.softcap > 0.0) {
					// tanh saturates to ±1 in f32 beyond |15|; clamping keeps exp-based tanh
					// implementations from overflowing to NaN.
					s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
				}
			}
			probs[pair] = s;
		}
		workgroupBarrier();

		// Online softmax, one thread per row: fold this block into (m, l). Rows past nrows see
		// only masked keys and keep p = 0, so the loops below can run to the constant QROWS
		// (unrolled, acc stays in registers).
		if (lid < QROWS) {
			var bmax = NEG;
			for (var jj = 0u; jj < KEY_BLOCK; jj++) {
				bmax = max(bmax, probs[lid * KEY_BLOCK + jj]);
			}
			let m_new = max(m, bmax);
			let alpha = exp(m - m_new);
			var bsum = 0.0;
			for (var jj = 0u; jj < KEY_BLOCK; jj++) {
				let s = probs[lid * KEY_BLOCK + jj];
				// Masked keys get exactly 0 (also when no key of the row was visible yet).
				let e = select(exp(s - m_new), 0.0, s <= NEG);
				probs[lid * KEY_BLOCK + jj] = e;
				bsum += e;
			}
			l = l * alpha + bsum;
			m = m_new;
			row_alpha[lid] = alpha;
		}
		// V block → the same workgroup memory (the scores above no longer need K).
		for (var idx = lid; idx < KEY_BLOCK * hd4; idx += WORKGROUP_SIZE) {
			let jj = idx / hd4;
			let c = idx % hd4;
			let j = jb + jj;
			var val = vec4<f32>(0.0);
			if (j < hi) {
				val = load_v4(j * kv_row + kvh * p.hd + 4u * c);
			}
			kv_tile[jj * KV_STRIDE4 + c] = val;
		}
		workgroupBarrier();

		// acc = acc·alpha + Σ_j p_j·v_j for this thread's vec4 of dims, every row of the tile.
		if (lid < hd4) {
			for (var r = 0u; r < QROWS; r++) {
				acc[r] *= row_alpha[r];
			}
			for (var jj = 0u; jj < KEY_BLOCK; jj++) {
				let vj = kv_tile[jj * KV_STRIDE4 + lid];
				for (var r = 0u; r < QROWS; r++) {
					acc[r] += probs[r * KEY_BLOCK + jj] * vj;
				}
			}
		}
	}

	if (lid < QROWS) {
		row_m[lid] = m;
		row_l[lid] = l;
	}
	workgroupBarrier();
	if (lid >= hd4) {
		return;
	}

	for (var r = 0u; r < QROWS; r++) {
		if (r >= nrows) {
			break;
		}
		let gr = row0 + r;
		let row = (gr / p.group) * p.heads + kvh * p.group + gr % p.group; // i·H + h
		var val = acc[r];
		var base = row * p.hd + 4u * lid;
		if (p.num_splits == 1u) {
			// Every row sees at least its own key, so l > 0 here.
			val *= 1.0 / row_l[r];
			if (p.keep_stats == 1u && lid == 0u) {
				ml[row * 2u] = row_m[r];
				ml[row * 2u + 1u] = row_l[r];
			}
		} else {
			let slot = split * p.T * p.heads + row;
			base = slot * p.hd + 4u * lid;
			if (lid == 0u) {
				ml[slot * 2u] = row_m[r];
				ml[slot * 2u + 1u] = row_l[r];
			}
		}
		dst[base] = val.x;
		dst[base + 1u] = val.y;
		dst[base + 2u] = val.z;
		dst[base + 3u] = val.w;
	}
}

// ---- attention_combine: merge the splits of each row ------------------------------------------
//
//   partial [S, T·H, hd], part_ml [S, T·H, 2]  →  out [T·H, hd]
//
// With M = max_s m_s: out = Σ_s exp(m_s − M)·acc_s / Σ_s exp(m_s − M)·l_s. Splits that saw no
// visible key carry m = NEG, l = 0 and drop out (exp(NEG − M) = 0).

struct CombineParams {
	rows: u32,
	hd: u32,
	num_splits: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> part_ml: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> cp: CombineParams;

@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
		@builtin(num_workgroups) nwg: vec3<u32>) {
	let row = wid.x + wid.y * nwg.x;
	if (row >= cp.rows) {
		return;
	}
	var big_m = NEG;
	for (var s = 0u; s < cp.num_splits; s++) {
		big_m = max(big_m, part_ml[(s * cp.rows + row) * 2u]);
	}
	var big_l = 0.0;
	for (var s = 0u; s < cp.num_splits; s++) {
		let slot = s * cp.rows + row;
		big_l += exp(part_ml[slot * 2u] - big_m) * part_ml[slot * 2u + 1u];
	}
	let inv_l = 1.0 / big_l;
	for (var d = lid; d < cp.hd; d += WORKGROUP_SIZE) {
		var sum = 0.0;
		for (var s = 0u; s < cp.num_splits; s++) {
			let slot = s * cp.rows + row;
			sum += exp(part_ml[slot * 2u] - big_m) * partial[slot * cp.hd + d];
		}
		out[row * cp.hd + d] = sum * inv_l;
	}
}

// ---- kv_store_f16: append rows to an f16 cache ------------------------------------------------
//
//   src [T, KV·hd] f32  →  cache rows row0 .. row0 + T − 1 of [maxTokens, KV·hd/2] u32
//
// Writer and reader of the packed format live in one file: element pair (d, d + 1) of a row is
// one word, pack2x16float(vec2(x[d], x[d + 1])) (x in .x = low half), read back by load_k4/load_v4.
// f16 keeps 11 significant bits: relative error ≤ 2^-11 per element; |x| must stay below 65504.

struct StoreParams {
	// Words to write: T · KV · hd / 2.
	words: u32,
	// First word written: row0 · KV · hd / 2.
	dst_offset: u32,
}

@group(0) @binding(0) var<storage, read> store_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> store_dst: array<u32>;
@group(0) @binding(2) var<uniform> sp: StoreParams;

@compute @workgroup_size(WORKGROUP_SIZE)
fn kv_store_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let w = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
	if (w >= sp.words) {
		return;
	}
	store_dst[sp.dst_offset + w] = pack2x16float(vec2<f32>(store_src[2u * w], store_src[2u * w + 1u]));
}

// ==== Backward (LoRA training) ==================================================================
//
//   q [T, H, hd], k, v [T, KV, hd] (f32, q and k AFTER RoPE, as the forward consumed them; keys of
//   this sequence only: pos0 = 0, no cache), the forward's output a [T, H·hd] and its per-row
//   (m, l) (attention_main with keep_stats), da [T, H·hd]  →  dq [T, H, hd], dk, dv [T, KV, hd]
//
// Nothing of the forward's probabilities is kept: p is recomputed from q and k (flash-attention
// style) with each query row's log-sum-exp lse_i = m_i + log l_i, and the softmax backward's row sum
// is the output's: delta_i = Σ_j p_ij·dp_ij = Σ_j p_ij·(da_i·v_j) = da_i·a_i. attention_bwd_dq
// turns (m, l) into (lse, delta) in place, for itself and attention_bwd_dkv.
// Then, in the forward's order reversed:
//   `a_i = Σ_j p_ij v_j`   → dp_ij = da_i·v_j;  dv_j += p_ij·da_i
//   `p = softmax(s)`       → ds_ij = p_ij·(dp_ij − delta_i)   (masked keys have p = 0: ds = 0)
//   `s = c·tanh(z/c)`      → dz_ij = ds_ij·(1 − (s_ij/c)²)   (softcap first, mask after)
//   `z = (q·k)·scale`      → dq_i += dz_ij·scale·k_j;  dk_j += dz_ij·scale·q_i
// attention_bwd_dq owns one query row (i, h) and walks its visible keys twice (statistics, then
// dq); attention_bwd_dkv, dispatched after it, owns one
// key row (j, kvh) and walks the queries that see it over every head of its GQA group — so the
// sum of dk, dv over the query heads sharing a kv head happens in one workgroup, with no atomics.
//
// Bindings: 0 q, 1 k, 2 v, 3 da, 4 stats; dq: dq 5, a 6, params 7; dkv: dk 5, dv 6, params 7.

struct BwdParams {
	T: u32,
	heads: u32,
	kv_heads: u32,
	hd: u32,
	group: u32,
	// 0 = global (causal only).
	window: u32,
	scale: f32,
	// 0 = no softcap.
	softcap: f32,
}

@group(0) @binding(0) var<storage, read> bq: array<f32>;
@group(0) @binding(1) var<storage, read> bk: array<f32>;
@group(0) @binding(2) var<storage, read> bv: array<f32>;
@group(0) @binding(3) var<storage, read> bda: array<f32>;
// Per query row (i, h), [T, H, 2]: the forward's (m, l), made (lse, delta) by attention_bwd_dq.
@group(0) @binding(4) var<storage, read_write> bstats: array<f32>;
@group(0) @binding(5) var<storage, read_write> bout0: array<f32>; // dq or dk
@group(0) @binding(6) var<storage, read> ba: array<f32>; // dq: the forward's output a
@group(0) @binding(6) var<storage, read_write> bout1: array<f32>; // dkv: dv
@group(0) @binding(7) var<uniform> bwd_p: BwdParams;

// Keys (or queries) per block of the dq / dkv walks: one per thread.
const BWD_BLOCK: u32 = 64u;

var<workgroup> row_a: array<f32, MAX_HD>; // q_i (dq) or k_j (dkv)
var<workgroup> row_b: array<f32, MAX_HD>; // da_i (dq) or v_j (dkv)
var<workgroup> blk_p: array<f32, BWD_BLOCK>;
var<workgroup> blk_dz: array<f32, BWD_BLOCK>;
var<workgroup> blk_w: array<f32, BWD_BLOCK>;

// s = softcap(z), z = qk·scale.
fn bwd_softcap(bp: BwdParams, qk: f32) -> f32 {
	let z = qk * bp.scale;
	if (bp.softcap > 0.0) {
		return bp.softcap * tanh(clamp(z / bp.softcap, -15.0, 15.0));
	}
	return z;
}

// ∂s/∂(q·k) at score s: the softcap's derivative 1 − (s/c)², times the scale.
fn bwd_dscore(bp: BwdParams, s: f32) -> f32 {
	if (bp.softcap > 0.0) {
		let t = s / bp.softcap;
		return (1.0 - t * t) * bp.scale;
	}
	return bp.scale;
}

// First key visible to query i (the window includes i itself: at most `window` keys).
fn bwd_first_key(bp: BwdParams, i: u32) -> u32 {
	if (bp.window > 0u && i + 1u > bp.window) {
		return i + 1u - bp.window;
	}
	return 0u;
}

// One workgroup per query row (i, h): delta = da_i·a_i (a tree over the row's dims), lse from the
// forward's (m, l); both stored for attention_bwd_dkv. Then dq_i = Σ_j dz_ij·scale·k_j over the
// visible keys, in blocks of 64 keys (one per thread).
@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_bwd_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
		@builtin(local_invocation_index) lid: u32) {
	let bp = bwd_p;
	let row = wid.x + wid.y * nwg.x;
	if (row >= bp.T * bp.heads) {
		return; // uniform: the whole workgroup leaves
	}
	let i = row / bp.heads;
	let h = row % bp.heads;
	let kvh = h / bp.group;
	let base = row * bp.hd;
	var part = 0.0;
	for (var c = lid; c < bp.hd; c += WORKGROUP_SIZE) {
		row_a[c] = bq[base + c];
		row_b[c] = bda[base + c];
		part += bda[base + c] * ba[base + c];
	}
	let first = bwd_first_key(bp, i);
	blk_w[lid] = part;
	for (var st = BWD_BLOCK / 2u; st > 0u; st = st >> 1u) {
		workgroupBarrier();
		if (lid < st) {
			blk_w[lid] += blk_w[lid + st];
		}
	}
	workgroupBarrier(); // row_a, row_b, blk_w[0] complete
	let lse = bstats[row * 2u] + log(bstats[row * 2u + 1u]);
	let delta = blk_w[0];
	workgroupBarrier(); // every thread read (m, l) before it is overwritten
	if (lid == 0u) {
		bstats[row * 2u] = lse;
		bstats[row * 2u + 1u] = delta;
	}

	// pass 2: this thread's output dims: lid, lid + 64, lid + 128, lid + 192 (those < hd)
	var acc = vec4<f32>(0.0);
	for (var jb = first; jb <= i; jb += BWD_BLOCK) {
		workgroupBarrier(); // lse/delta read; the previous block's readers of blk_dz are done
		let j = jb + lid;
		var dz = 0.0;
		if (j <= i) {
			let kb = (j * bp.kv_heads + kvh) * bp.hd;
			var qk = 0.0;
			var dp = 0.0;
			for (var c = 0u; c < bp.hd; c++) {
				qk += row_a[c] * bk[kb + c];
				dp += row_b[c] * bv[kb + c];
			}
			let s = bwd_softcap(bp, qk);
			dz = exp(s - lse) * (dp - delta) * bwd_dscore(bp, s);
		}
		blk_dz[lid] = dz;
		workgroupBarrier();
		let n = min(BWD_BLOCK, i + 1u - jb);
		for (var jj = 0u; jj < n; jj++) {
			let kb = ((jb + jj) * bp.kv_heads + kvh) * bp.hd;
			let g = blk_dz[jj];
			for (var r = 0u; r < 4u; r++) {
				let c = lid + r * WORKGROUP_SIZE;
				if (c < bp.hd) {
					acc[r] += g * bk[kb + c];
				}
			}
		}
	}
	for (var r = 0u; r < 4u; r++) {
		let c = lid + r * WORKGROUP_SIZE;
		if (c < bp.hd) {
			bout0[base + c] = acc[r];
		}
	}
}

// One workgroup per key row (j, kvh): over the heads h of its group and the queries i that see j,
//   dv_j = Σ p_ij·da_i,   dk_j = Σ dz_ij·scale·q_i.
@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_bwd_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
		@builtin(local_invocation_index) lid: u32) {
	let bp = bwd_p;
	let krow = wid.x + wid.y * nwg.x;
	if (krow >= bp.T * bp.kv_heads) {
		return;
	}
	let j = krow / bp.kv_heads;
	let kvh = krow % bp.kv_heads;
	let base = krow * bp.hd;
	for (var c = lid; c < bp.hd; c += WORKGROUP_SIZE) {
		row_a[c] = bk[base + c];
		row_b[c] = bv[base + c];
	}
	// the queries that see key j: j ≤ i < j + window (or < T)
	var hi = bp.T;
	if (bp.window > 0u) {
		hi = min(hi, j + bp.window);
	}
	var dk = vec4<f32>(0.0);
	var dv = vec4<f32>(0.0);
	for (var g = 0u; g < bp.group; g++) {
		let h = kvh * bp.group + g;
		for (var ib = j; ib < hi; ib += BWD_BLOCK) {
			workgroupBarrier();
			let i = ib + lid;
			var pr = 0.0;
			var dz = 0.0;
			if (i < hi) {
				let row = i * bp.heads + h;
				let qb = row * bp.hd;
				var qk = 0.0;
				var dp = 0.0;
				for (var c = 0u; c < bp.hd; c++) {
					qk += bq[qb + c] * row_a[c];
					dp += bda[qb + c] * row_b[c];
				}
				let s = bwd_softcap(bp, qk);
				pr = exp(s - bstats[row * 2u]);
				dz = pr * (dp - bstats[row * 2u + 1u]) * bwd_dscore(bp, s);
			}
			blk_p[lid] = pr;
			blk_dz[lid] = dz;
			workgroupBarrier();
			let n = min(BWD_BLOCK, hi - ib);
			for (var ii = 0u; ii < n; ii++) {
				let qb = ((ib + ii) * bp.heads + h) * bp.hd;
				let pij = blk_p[ii];
				let gij = blk_dz[ii];
				for (var r = 0u; r < 4u; r++) {
					let c = lid + r * WORKGROUP_SIZE;
					if (c < bp.hd) {
						dv[r] += pij * bda[qb + c];
						dk[r] += gij * bq[qb + c];
					}
				}
			}
		}
	}
	for (var r = 0u; r < 4u; r++) {
		let c = lid + r * WORKGROUP_SIZE;
		if (c < bp.hd) {
			bout0[base + c] = dk[r];
			bout1[base + c] = dv[r];
		}
	}
}
