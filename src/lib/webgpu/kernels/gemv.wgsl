// GEMV: y = x Wᵀ for a few tokens (decode: M = 1), f32 accumulation, one pass over W.
// Layouts as in matmul.wgsl (W [N, K] row-major, f32 or MLC q4 — q4.wgsl). gemv.ts assembles the
// module: activations.wgsl + q4.wgsl + the bindings and one `dot_row_<i>` per weight (generated,
// see gemv.ts) + this file + one of the two `row_sum`s at the end of this file.
//
//   x [M, K] f32  ·  W_0 | W_1 | W_2 (up to three weights, each [N_i, K])  →  y [M, ldy] f32
//
// One dispatch covers up to three weights with the same K (q, k and v of a layer): row n of the
// concatenation [W_0; W_1; W_2] goes to column yOffset + n of y. Epilogues (EPILOGUE):
//   0 store    y (+)= x Wᵀ
//   1 softcap  y = cap · tanh(x Wᵀ / cap)            (the LM head, Gemma-2's final softcap)
//   2 gelu     two weights of N rows (gate, up): y[n] = gelu_tanh(x·gate_n) · (x·up_n)
//              (each workgroup reduces GEMV_ROWS/2 gate rows and the same up rows)
//
// Reads: GEMV_LANES lanes per row walk the row's words side by side — lane l reads word
// l + GEMV_LANES·j (8 q4 nibbles, or one f32) and the 32 bytes of x it multiplies, so a step of a
// row's lanes is one contiguous 128-byte read of W and one contiguous 1 KB read of x (coalesced);
// two independent accumulators per lane keep two loads in flight. Reduction over the lanes: a
// shared-memory tree, or (SUBGROUPS) subgroup shuffles plus one barrier.
//
// f16 variant (gemv.ts, devices with shader-f16): the workgroup first stages its token's x row
// into workgroup memory as f16, X_CHUNK values at a time (`row_acc`), and the lanes read x from
// there — one global read of x per workgroup instead of one per row, and half the bytes per
// workgroup-memory read. Products and sums stay f32 (x is widened back as it is read): decode is
// bound by the weight bytes, not by arithmetic, and f16 products of x·(q − 7) would overflow for
// activations past ~8k and lose the f32 accumulation the exactness bound relies on. The one
// rounding is x to f16 (relative 2^-11, |x| < 65504): see f16DotBound in gemv.ts.

struct Params {
  M: u32,
  N: u32,         // rows in all (store, softcap) or rows of each weight (gelu)
  K: u32,
  ldy: u32,       // row stride of y (≥ yOffset + N)
  yOffset: u32,   // column of y that row 0 goes to
  accumulate: u32,// 1: y += x Wᵀ (store only)
  n1: u32,        // first row of W_1 (= N when absent)
  n2: u32,        // first row of W_2 (= N when absent)
  cap: f32,       // softcap
}

override GEMV_ROWS: u32 = 8u;
override GEMV_LANES: u32 = 32u;
override GEMV_THREADS: u32 = GEMV_ROWS * GEMV_LANES;
override EPILOGUE: u32 = 0u;
const EPILOGUE_STORE: u32 = 0u;
const EPILOGUE_SOFTCAP: u32 = 1u;
const EPILOGUE_GELU: u32 = 2u;

var<workgroup> red: array<f32, GEMV_THREADS>;
var<workgroup> sums: array<f32, GEMV_ROWS>;

// Σ_j x[j]·(q_j − 7) over the 8 nibbles of one word, x as two vec4s.
fn dot_word(word: u32, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  let lo = vec4<f32>(vec4<u32>(word, word >> 4u, word >> 8u, word >> 12u) & vec4<u32>(15u)) - 7.0;
  let hi = vec4<f32>(vec4<u32>(word >> 16u, word >> 20u, word >> 24u, word >> 28u) & vec4<u32>(15u)) - 7.0;
  return dot(xa, lo) + dot(xb, hi);
}

@compute @workgroup_size(GEMV_THREADS)
fn gemv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 /*SG_PARAM*/) {
  /*SG_INIT*/
  let r = lid / GEMV_LANES;
  let lane = lid % GEMV_LANES;
  let m = wid.y;
  // This lane's row: the weight it belongs to (w) and its row inside that weight (local).
  var w = 0u;
  var local = 0u;
  var n = 0u;
  if (EPILOGUE == EPILOGUE_GELU) {
    let pairs = GEMV_ROWS / 2u;
    n = wid.x * pairs + r % pairs;
    w = r / pairs;
    local = n;
  } else {
    n = wid.x * GEMV_ROWS + r;
    w = select(select(0u, 1u, n >= p.n1), 2u, n >= p.n2);
    local = n - select(select(0u, p.n1, w == 1u), p.n2, w == 2u);
  }
  let acc = row_acc(w, local, m, lane, n < p.N, lid);
  let sum = row_sum(acc, lid, lane);
  if (EPILOGUE == EPILOGUE_GELU) {
    if (lane == 0u) { sums[r] = sum; }
    workgroupBarrier();
    let pairs = GEMV_ROWS / 2u;
    let g = wid.x * pairs + lid;
    if (lid < pairs && g < p.N) {
      y[m * p.ldy + p.yOffset + g] = gelu_tanh(sums[lid]) * sums[lid + pairs];
    }
    return;
  }
  if (lane == 0u && n < p.N) {
    let o = m * p.ldy + p.yOffset + n;
    var v = sum;
    if (EPILOGUE == EPILOGUE_SOFTCAP) { v = softcap(v, p.cap); }
    y[o] = select(0.0, y[o], p.accumulate == 1u) + v;
  }
}
