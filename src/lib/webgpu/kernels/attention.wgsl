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

// f16 variant (attention.ts, devices with shader-f16): the same source with `enable f16;` before it
// and `alias tile_t = f16;` for the line below. The workgroup tiles (query rows, K/V blocks) then
// hold f16 — half the workgroup memory, so twice the keys per block — while every product, score,
// softmax statistic and accumulator stays f32. The backward always runs the f32 source.
alias tile_t = f32;

// One parameter block for the forward and the backward (which leaves pos0, key_lo, keys_per_split,
// num_splits and keep_stats at 0, 0, T, 1, 0: one sequence's own keys, no cache).
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

// Bindings (q, k, v, dst, ml, p; each entry point's own): declared once in attention.ts
// (ATTENTION_BINDINGS), whose declarations are prepended to this file.

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

// Tile sizes, chosen by attention.ts from the device's workgroup-memory limit (the backward's in
// its own comment below). Forward, f32 tiles: 16 KiB (WebGPU default) QROWS 4, KEY_BLOCK 8 →
// 12.5 KB; 32 KiB: 8, 16 → 25 KB. f16 tiles: 4, 16 → 10.6 KB; 8, 32 → 21.7 KB.
override QROWS: u32 = 4u;
override KEY_BLOCK: u32 = 8u;
// Cache element format, fixed per pipeline: f32 words, or f16 pairs packed in u32 words.
override CACHE_F16: bool = false;
// The tiles' lengths in vec4s, named so that tiles of one length share one type (and one staging
// function, through a pointer).
override ROWS4: u32 = QROWS * MAX_HD4;
override KEYS4: u32 = KEY_BLOCK * KV_STRIDE4;

// Query rows of the tile (the backward: q or da rows).
var<workgroup> q_tile: array<vec4<tile_t>, ROWS4>;
// The K block, then (same memory) the V block.
var<workgroup> kv_tile: array<vec4<tile_t>, KEYS4>;
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

// Key j is visible to the query at position pos.
fn visible(window: u32, j: u32, pos: u32) -> bool {
	return j <= pos && (window == 0u || j + window > pos);
}

// s = softcap(q·k · scale). tanh saturates to ±1 in f32 beyond |15|; clamping keeps exp-based tanh
// implementations from overflowing to NaN.
fn capped_score(pp: Params, qk: f32) -> f32 {
	let z = qk * pp.scale;
	if (pp.softcap > 0.0) {
		return pp.softcap * tanh(clamp(z / pp.softcap, -15.0, 15.0));
	}
	return z;
}

// Tile row gr (0 .. T·group − 1) ↔ query row (i, h) = (gr / group, kvh·group + gr % group), i·H + h.
fn query_row(pp: Params, gr: u32, kvh: u32) -> u32 {
	return (gr / pp.group) * pp.heads + kvh * pp.group + gr % pp.group;
}

// What stage() loads: query rows (q, or the backward's da, bound where the forward writes) into a
// row tile, or key rows (k or v of the cache) into a key tile.
const Q_ROWS: u32 = 0u;
const DA_ROWS: u32 = 1u;
const K_ROWS: u32 = 2u;
const V_ROWS: u32 = 3u;

// Elements 4c .. 4c + 3 of row `row` of `kind`: a tile row (i, h) of kv head kvh, or key `row`.
fn load_row4(pp: Params, kind: u32, row: u32, kvh: u32, c: u32) -> vec4<f32> {
	if (kind >= K_ROWS) {
		let e = row * pp.kv_heads * pp.hd + kvh * pp.hd + 4u * c;
		if (kind == V_ROWS) {
			return load_v4(e);
		}
		return load_k4(e);
	}
	let e = query_row(pp, row, kvh) * pp.hd + 4u * c;
	if (kind == DA_ROWS) {
		return vec4<f32>(dst[e], dst[e + 1u], dst[e + 2u], dst[e + 3u]);
	}
	return vec4<f32>(q[e], q[e + 1u], q[e + 2u], q[e + 3u]);
}

// Rows r0 .. r0 + n − 1 of `kind` → row_tile (Q_ROWS, DA_ROWS: n = QROWS) or key_tile (K_ROWS,
// V_ROWS: n = KEY_BLOCK), as tile_t; rows from `hi` on are zeros. Columns ≥ hd/4 are never written
// nor read. Only the tile `kind` names is written.
fn stage(pp: Params, kind: u32, row_tile: ptr<workgroup, array<vec4<tile_t>, ROWS4>>,
		key_tile: ptr<workgroup, array<vec4<tile_t>, KEYS4>>, r0: u32, hi: u32, kvh: u32, lid: u32) {
	let hd4 = pp.hd / 4u;
	let keys = kind >= K_ROWS;
	let n = select(QROWS, KEY_BLOCK, keys);
	for (var idx = lid; idx < n * hd4; idx += WORKGROUP_SIZE) {
		let r = idx / hd4;
		let c = idx % hd4;
		var val = vec4<f32>(0.0);
		if (r0 + r < hi) {
			val = load_row4(pp, kind, r0 + r, kvh, c);
		}
		if (keys) {
			(*key_tile)[r * KV_STRIDE4 + c] = vec4<tile_t>(val);
		} else {
			(*row_tile)[r * MAX_HD4 + c] = vec4<tile_t>(val);
		}
	}
}

// Row r of a query tile · row jj of a key tile, summed in f32.
fn dot_rows(a: ptr<workgroup, array<vec4<tile_t>, ROWS4>>, r: u32,
		b: ptr<workgroup, array<vec4<tile_t>, KEYS4>>, jj: u32, hd4: u32) -> f32 {
	var acc = vec4<f32>(0.0);
	for (var c = 0u; c < hd4; c++) {
		acc += vec4<f32>((*a)[r * MAX_HD4 + c]) * vec4<f32>((*b)[jj * KV_STRIDE4 + c]);
	}
	return acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
	let pp = p;
	let tile = wid.x;
	let kvh = wid.y;
	let split = wid.z;
	let rows_total = pp.T * pp.group;
	let row0 = tile * QROWS;
	let nrows = min(QROWS, rows_total - row0);
	let kv_len = pp.pos0 + pp.T;
	let hd4 = pp.hd / 4u;

	// The positions of this tile's rows span [pmin, pmax]; with the split's own range this bounds
	// the keys worth loading (uniform across the workgroup, as barriers require).
	let pmin = pp.pos0 + row0 / pp.group;
	let pmax = pp.pos0 + (row0 + nrows - 1u) / pp.group;
	var lo = pp.key_lo + split * pp.keys_per_split;
	var hi = min(lo + pp.keys_per_split, kv_len);
	hi = min(hi, pmax + 1u);
	if (pp.window > 0u && pmin + 1u > pp.window) {
		lo = max(lo, pmin + 1u - pp.window);
	}

	// Query rows → workgroup memory (row r ↔ token i = gr / group, head kvh·group + gr % group).
	stage(pp, Q_ROWS, &q_tile, &kv_tile, row0, row0 + nrows, kvh, lid);

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
		stage(pp, K_ROWS, &q_tile, &kv_tile, jb, hi, kvh, lid);
		workgroupBarrier();

		// Scores: s = softcap(q·k · scale), then the mask (NEG marks an invisible key).
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			let r = pair / KEY_BLOCK;
			let jj = pair % KEY_BLOCK;
			let j = jb + jj;
			var s = NEG;
			if (r < nrows && j < hi && visible(pp.window, j, pp.pos0 + (row0 + r) / pp.group)) {
				s = capped_score(pp, dot_rows(&q_tile, r, &kv_tile, jj, hd4));
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
		stage(pp, V_ROWS, &q_tile, &kv_tile, jb, hi, kvh, lid);
		workgroupBarrier();

		// acc = acc·alpha + Σ_j p_j·v_j for this thread's vec4 of dims, every row of the tile.
		if (lid < hd4) {
			for (var r = 0u; r < QROWS; r++) {
				acc[r] *= row_alpha[r];
			}
			for (var jj = 0u; jj < KEY_BLOCK; jj++) {
				let vj = vec4<f32>(kv_tile[jj * KV_STRIDE4 + lid]);
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
		let row = query_row(pp, row0 + r, kvh); // i·H + h
		var val = acc[r];
		var base = row * pp.hd + 4u * lid;
		if (pp.num_splits == 1u) {
			// Every row sees at least its own key, so l > 0 here.
			val *= 1.0 / row_l[r];
			if (pp.keep_stats == 1u && lid == 0u) {
				ml[row * 2u] = row_m[r];
				ml[row * 2u + 1u] = row_l[r];
			}
		} else {
			let slot = split * pp.T * pp.heads + row;
			base = slot * pp.hd + 4u * lid;
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
		@builtin(num_workgroups) nwg: vec3<u32>) {
	let row = wid.x + wid.y * nwg.x;
	let rows = cp.T * cp.heads;
	if (row >= rows) {
		return;
	}
	var big_m = NEG;
	for (var s = 0u; s < cp.num_splits; s++) {
		big_m = max(big_m, part_ml[(s * rows + row) * 2u]);
	}
	var big_l = 0.0;
	for (var s = 0u; s < cp.num_splits; s++) {
		let slot = s * rows + row;
		big_l += exp(part_ml[slot * 2u] - big_m) * part_ml[slot * 2u + 1u];
	}
	let inv_l = 1.0 / big_l;
	for (var d = lid; d < cp.hd; d += WORKGROUP_SIZE) {
		var sum = 0.0;
		for (var s = 0u; s < cp.num_splits; s++) {
			let slot = s * rows + row;
			sum += exp(part_ml[slot * 2u] - big_m) * partial[slot * cp.hd + d];
		}
		out[row * cp.hd + d] = sum * inv_l;
	}
}

// ---- kv_store_f16 / kv_store_f32: append rows to the cache ------------------------------------
//
//   src [T, KV·hd] f32  →  cache rows row0 .. row0 + T − 1 of [maxTokens, KV·hd/2] u32 (f16 pairs)
//                          or of [maxTokens, KV·hd] f32 (kv_store_f32: the f32 bits, unchanged)
//
// A dispatch rather than a buffer copy, so a decode token's appends stay in its one compute pass.
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn kv_store_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let w = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
	if (w >= sp.words) {
		return;
	}
	store_dst[sp.dst_offset + w] = pack2x16float(vec2<f32>(store_src[2u * w], store_src[2u * w + 1u]));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn kv_store_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let w = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
	if (w >= sp.words) {
		return;
	}
	store_dst[sp.dst_offset + w] = bitcast<u32>(store_src[w]);
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
// Both are tiled like the forward, with its declarations (Params, bindings 0–4, tiles, staging and
// dot helpers): attention_bwd_dq owns QROWS query rows of one kv head and walks their visible keys
// in blocks of KEY_BLOCK staged in workgroup memory (each K/V row is read once per tile, not once
// per query row); attention_bwd_dkv, dispatched after it, owns KEY_BLOCK keys of one kv head and
// walks the query rows that see them over every head of its GQA group — so the sum of dk, dv over
// the query heads sharing a kv head happens in one workgroup, with no atomics.
//
// Bindings (ATTENTION_BINDINGS): the forward's q, k, v, da in `dst`, stats in `ml`; then dq: dq in
// `bout0`, the forward's output a in `ba`; dkv: dk in `bout0`, dv in `bout1`.

// Tiles: QROWS query rows (the (token, head) pairs of one kv head, in the forward's tile order) by
// KEY_BLOCK keys, set by attention.ts from the workgroup-memory limit: 32 KiB 8 × 8 (≈ 24.5 KB);
// the 16 KiB WebGPU default 4 × 4 (≈ 12.3 KB). KEY_BLOCK ≤ MAX_BK (sizes the per-thread dk, dv).
const MAX_BK: u32 = 8u;

// Beside q_tile (q rows; da rows in dkv's turn) and kv_tile (the K or V block): dq's da rows and
// dkv's V block.
var<workgroup> bw_y: array<vec4<tile_t>, ROWS4>;
var<workgroup> bw_kv2: array<vec4<tile_t>, KEYS4>;
// Per (row, key) pair of the tile, beside `probs` (scores, then probabilities): dp, then dz.
var<workgroup> pair_g: array<f32, QROWS * KEY_BLOCK>;
// Per row of the tile: lse and delta.
var<workgroup> bw_lse: array<f32, MAX_QROWS>;
var<workgroup> bw_delta: array<f32, MAX_QROWS>;

// ∂s/∂(q·k) at score s: the softcap's derivative 1 − (s/c)², times the scale.
fn bwd_dscore(bp: Params, s: f32) -> f32 {
	if (bp.softcap > 0.0) {
		let t = s / bp.softcap;
		return (1.0 - t * t) * bp.scale;
	}
	return bp.scale;
}

// One workgroup per tile of QROWS query rows sharing kv head kvh (grid (tiles, KV)). Rows' lse from
// the forward's (m, l), delta = da·a; both stored back for attention_bwd_dkv. Then, per block of
// KEY_BLOCK visible keys: the V block gives dp = da·v, the K block the scores and dz, and
// dq_r += Σ_j dz_rj·k_j (each thread owns one vec4 of dims of every row).
@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_bwd_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
	let bp = bwd_p;
	let kvh = wid.y;
	let rows_total = bp.T * bp.group;
	let row0 = wid.x * QROWS;
	let nrows = min(QROWS, rows_total - row0);
	let hd4 = bp.hd / 4u;

	stage(bp, Q_ROWS, &q_tile, &kv_tile, row0, row0 + nrows, kvh, lid);
	stage(bp, DA_ROWS, &bw_y, &kv_tile, row0, row0 + nrows, kvh, lid);
	if (lid < nrows) {
		let row = query_row(bp, row0 + lid, kvh);
		var delta = 0.0;
		for (var c = 0u; c < bp.hd; c++) {
			delta += dst[row * bp.hd + c] * ba[row * bp.hd + c];
		}
		let lse = ml[row * 2u] + log(ml[row * 2u + 1u]);
		bw_lse[lid] = lse;
		bw_delta[lid] = delta;
		ml[row * 2u] = lse;
		ml[row * 2u + 1u] = delta;
	}

	// keys any row of the tile sees (uniform: tokens imin .. imax)
	let imin = row0 / bp.group;
	let imax = (row0 + nrows - 1u) / bp.group;
	var lo = 0u;
	if (bp.window > 0u && imin + 1u > bp.window) {
		lo = imin + 1u - bp.window;
	}
	let hi = imax + 1u;

	var acc: array<vec4<f32>, MAX_QROWS>;
	for (var r = 0u; r < MAX_QROWS; r++) {
		acc[r] = vec4<f32>(0.0);
	}
	for (var jb = lo; jb < hi; jb += KEY_BLOCK) {
		workgroupBarrier(); // the previous block's readers of kv_tile / pair_g are done
		stage(bp, V_ROWS, &q_tile, &kv_tile, jb, hi, kvh, lid);
		workgroupBarrier();
		// dp_rj = da_r·v_j
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			pair_g[pair] = dot_rows(&bw_y, pair / KEY_BLOCK, &kv_tile, pair % KEY_BLOCK, hd4);
		}
		workgroupBarrier();
		stage(bp, K_ROWS, &q_tile, &kv_tile, jb, hi, kvh, lid);
		workgroupBarrier();
		// dz_rj = p_rj·(dp_rj − delta_r)·∂s/∂(qk), p_rj = exp(s_rj − lse_r); 0 where masked
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			let r = pair / KEY_BLOCK;
			let jj = pair % KEY_BLOCK;
			let j = jb + jj;
			var dz = 0.0;
			if (r < nrows && j < hi && visible(bp.window, j, (row0 + r) / bp.group)) {
				let s = capped_score(bp, dot_rows(&q_tile, r, &kv_tile, jj, hd4));
				dz = exp(s - bw_lse[r]) * (pair_g[pair] - bw_delta[r]) * bwd_dscore(bp, s);
			}
			pair_g[pair] = dz;
		}
		workgroupBarrier();
		if (lid < hd4) {
			for (var jj = 0u; jj < KEY_BLOCK; jj++) {
				let kj = vec4<f32>(kv_tile[jj * KV_STRIDE4 + lid]);
				for (var r = 0u; r < QROWS; r++) {
					acc[r] += pair_g[r * KEY_BLOCK + jj] * kj;
				}
			}
		}
	}
	if (lid < hd4) {
		for (var r = 0u; r < nrows; r++) {
			let e = query_row(bp, row0 + r, kvh) * bp.hd + 4u * lid;
			bout0[e] = acc[r].x;
			bout0[e + 1u] = acc[r].y;
			bout0[e + 2u] = acc[r].z;
			bout0[e + 3u] = acc[r].w;
		}
	}
}

// One workgroup per block of KEY_BLOCK keys of kv head kvh (grid (ceil(T / KEY_BLOCK), KV)): walks
// the query rows that see them (every head of the GQA group, so dk and dv sum over the heads in one
// place) in tiles of QROWS rows: q rows → scores; da rows → dp, p, dz and dv_j += Σ_r p_rj·da_r;
// q rows again → dk_j += Σ_r dz_rj·q_r. Each thread owns one vec4 of dims of every key. (q and da
// take turns in q_tile: both beside the block's k and v would not fit in 32 KiB, so q is read twice
// per tile.)
@compute @workgroup_size(WORKGROUP_SIZE)
fn attention_bwd_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
	let bp = bwd_p;
	let kvh = wid.y;
	let j0 = wid.x * KEY_BLOCK;
	let nkeys = min(KEY_BLOCK, bp.T - j0);
	let hd4 = bp.hd / 4u;
	let kv_row = bp.kv_heads * bp.hd;

	stage(bp, K_ROWS, &q_tile, &kv_tile, j0, j0 + nkeys, kvh, lid);
	stage(bp, V_ROWS, &q_tile, &bw_kv2, j0, j0 + nkeys, kvh, lid);
	// the queries that see a key of the block: tokens j0 .. min(T, j_last + window) − 1
	var t_hi = bp.T;
	if (bp.window > 0u) {
		t_hi = min(t_hi, j0 + nkeys - 1u + bp.window);
	}
	let gr_hi = t_hi * bp.group;

	var dk: array<vec4<f32>, MAX_BK>;
	var dv: array<vec4<f32>, MAX_BK>;
	for (var jj = 0u; jj < MAX_BK; jj++) {
		dk[jj] = vec4<f32>(0.0);
		dv[jj] = vec4<f32>(0.0);
	}
	for (var gb = j0 * bp.group; gb < gr_hi; gb += QROWS) {
		workgroupBarrier(); // the previous tile's readers of q_tile / probs / pair_g are done
		// q rows of the tile, and their lse / delta
		stage(bp, Q_ROWS, &q_tile, &kv_tile, gb, gr_hi, kvh, lid);
		if (lid < QROWS && gb + lid < gr_hi) {
			let row = query_row(bp, gb + lid, kvh);
			bw_lse[lid] = ml[row * 2u];
			bw_delta[lid] = ml[row * 2u + 1u];
		}
		workgroupBarrier();
		// scores (NEG where the pair is masked)
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			let r = pair / KEY_BLOCK;
			let jj = pair % KEY_BLOCK;
			var s = NEG;
			if (gb + r < gr_hi && jj < nkeys && visible(bp.window, j0 + jj, (gb + r) / bp.group)) {
				s = capped_score(bp, dot_rows(&q_tile, r, &kv_tile, jj, hd4));
			}
			probs[pair] = s;
		}
		workgroupBarrier();
		// da rows → dp; p and dz
		stage(bp, DA_ROWS, &q_tile, &kv_tile, gb, gr_hi, kvh, lid);
		workgroupBarrier();
		for (var pair = lid; pair < QROWS * KEY_BLOCK; pair += WORKGROUP_SIZE) {
			let r = pair / KEY_BLOCK;
			let s = probs[pair];
			var pr = 0.0;
			var dz = 0.0;
			if (s > NEG) {
				pr = exp(s - bw_lse[r]);
				let dp = dot_rows(&q_tile, r, &bw_kv2, pair % KEY_BLOCK, hd4);
				dz = pr * (dp - bw_delta[r]) * bwd_dscore(bp, s);
			}
			probs[pair] = pr;
			pair_g[pair] = dz;
		}
		workgroupBarrier();
		if (lid < hd4) {
			for (var r = 0u; r < QROWS; r++) {
				let dar = vec4<f32>(q_tile[r * MAX_HD4 + lid]);
				for (var jj = 0u; jj < KEY_BLOCK; jj++) {
					dv[jj] += probs[r * KEY_BLOCK + jj] * dar;
				}
			}
		}
		workgroupBarrier();
		// q rows again → dk
		stage(bp, Q_ROWS, &q_tile, &kv_tile, gb, gr_hi, kvh, lid);
		workgroupBarrier();
		if (lid < hd4) {
			for (var r = 0u; r < QROWS; r++) {
				let qr = vec4<f32>(q_tile[r * MAX_HD4 + lid]);
				for (var jj = 0u; jj < KEY_BLOCK; jj++) {
					dk[jj] += pair_g[r * KEY_BLOCK + jj] * qr;
				}
			}
		}
	}
	if (lid < hd4) {
		for (var jj = 0u; jj < nkeys; jj++) {
			let e = (j0 + jj) * kv_row + kvh * bp.hd + 4u * lid;
			bout0[e] = dk[jj].x;
			bout0[e + 1u] = dk[jj].y;
			bout0[e + 2u] = dk[jj].z;
			bout0[e + 3u] = dk[jj].w;
			bout1[e] = dv[jj].x;
			bout1[e + 1u] = dv[jj].y;
			bout1[e + 2u] = dv[jj].z;
			bout1[e + 3u] = dv[jj].w;
		}
	}
}
