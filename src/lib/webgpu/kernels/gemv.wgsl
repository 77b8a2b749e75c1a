// GEMV: y = x Wᵀ (optionally y += x Wᵀ) for a few tokens (decode: M = 1), f32 accumulation.
// One pass over W, bandwidth-bound. Layouts as in matmul.wgsl (W [N, K] row-major, f32 or MLC q4;
// q4.wgsl is prepended by gemv.ts):
//
//   x [M, K] f32  ·  W [N, K]  →  y [M, ldy] f32, columns yOffset .. yOffset + N − 1 of each row
//
// GEMV_ROWS output rows per workgroup, GEMV_LANES threads per row reduce along K (coalesced:
// neighbouring lanes read neighbouring words), then a shared-memory tree. Grid (ceil(N/GEMV_ROWS), M).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,       // row stride of y (≥ yOffset + N)
  yOffset: u32,   // first column of y written by this dispatch
  accumulate: u32 // 1: y += x Wᵀ; 0: y = x Wᵀ
}

// 8 rows × 32 lanes = 256 threads: 32 lanes make one coalesced 128-byte read per row and step.
const GEMV_ROWS: u32 = 8u;
const GEMV_LANES: u32 = 32u;
const GEMV_THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
// gemv_f32: binding 1 = w_f32, 2 = y, 3 = params
@group(0) @binding(1) var<storage, read> w_f32: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_f32w: array<f32>;
@group(0) @binding(3) var<uniform> p_f32w: Params;
// gemv_q4: binding 1 = w_q4v, 2 = scales, 3 = y, 4 = params
@group(0) @binding(1) var<storage, read> w_q4v: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> y_q4w: array<f32>;
@group(0) @binding(4) var<uniform> p_q4w: Params;

var<workgroup> red: array<f32, GEMV_THREADS>;

// Tree reduction over the GEMV_LANES lanes of each row; result in red[row * GEMV_LANES].
fn reduce_lanes(lid: u32, lane: u32) {
  for (var s = GEMV_LANES / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lane < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
}

@compute @workgroup_size(GEMV_THREADS)
fn gemv_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_f32w;
  let r = lid / GEMV_LANES;
  let lane = lid % GEMV_LANES;
  let n = wid.x * GEMV_ROWS + r;
  let m = wid.y;
  var acc = 0.0;
  if (n < p.N) {
    let xb = m * p.K;
    let wb = n * p.K;
    for (var k = lane; k < p.K; k += GEMV_LANES) { acc += x[xb + k] * w_f32[wb + k]; }
  }
  red[lid] = acc;
  reduce_lanes(lid, lane);
  if (lane == 0u && n < p.N) {
    let o = m * p.ldy + p.yOffset + n;
    y_f32w[o] = select(0.0, y_f32w[o], p.accumulate == 1u) + red[lid];
  }
}

// Σ_j x[j]·(q_j − 7) over the 8 nibbles of one word, x as two vec4s.
fn dot_word(word: u32, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  let lo = vec4<f32>(vec4<u32>(word, word >> 4u, word >> 8u, word >> 12u) & vec4<u32>(15u)) - 7.0;
  let hi = vec4<f32>(vec4<u32>(word >> 16u, word >> 20u, word >> 24u, word >> 28u) & vec4<u32>(15u)) - 7.0;
  return dot(xa, lo) + dot(xb, hi);
}

// q4: each lane reads one whole quantization group per step: a vec4<u32> of 4 words = 32 nibbles
// (one 16-byte load) and its single scale; x is read as 8 vec4<f32>. K % 32 == 0 always holds for
// q4 weights, so rows are whole vec4s.
@compute @workgroup_size(GEMV_THREADS)
fn gemv_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_q4w;
  let r = lid / GEMV_LANES;
  let lane = lid % GEMV_LANES;
  let n = wid.x * GEMV_ROWS + r;
  let m = wid.y;
  var acc = 0.0;
  if (n < p.N) {
    let groups = p.K / 32u;
    let xb = m * (p.K / 4u); // x row start in vec4 units
    for (var g = lane; g < groups; g += GEMV_LANES) {
      let w4 = w_q4v[n * groups + g];
      let xg = xb + g * 8u;
      var dot = dot_word(w4.x, x4[xg], x4[xg + 1u]);
      dot += dot_word(w4.y, x4[xg + 2u], x4[xg + 3u]);
      dot += dot_word(w4.z, x4[xg + 4u], x4[xg + 5u]);
      dot += dot_word(w4.w, x4[xg + 6u], x4[xg + 7u]);
      acc += dot * scale_at(n * groups + g);
    }
  }
  red[lid] = acc;
  reduce_lanes(lid, lane);
  if (lane == 0u && n < p.N) {
    let o = m * p.ldy + p.yOffset + n;
    y_q4w[o] = select(0.0, y_q4w[o], p.accumulate == 1u) + red[lid];
  }
}
