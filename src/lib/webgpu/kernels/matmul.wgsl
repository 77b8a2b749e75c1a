// Linear layer forward: y = x Wᵀ (optionally y += x Wᵀ), f32 activations, f32 accumulation.
//
//   x      [M, K]   f32, row-major (M tokens)
//   W      [N, K]   one row per output feature (PyTorch nn.Linear layout)
//            f32:  w_f32  [N·K]
//            q4:   w_q4   [N, K/8] u32, 8 nibbles per word, lowest bits first (MLC q4f16_1/q4f32_1)
//                  scales [N, K/32] f16 packed two per u32 (SCALE_F16) or f32 bit patterns;
//                  w = (q − 7) · scale
//   y      [M, ldy] f32; this dispatch writes columns yOffset .. yOffset+N-1 of every row, so a
//          weight split into row chunks (the 256k-row embedding used as LM head) writes its
//          slice of the logits in place.
// SCALE_F16 and the scale decode come from q4.wgsl (prepended by matmul.ts); the decode shape (M ≤ 4,
// one pass over W) is the GEMV in gemv.wgsl.
//
//   gemm_*  prefill, training (M > 1): one register-blocked tile body (8×8 outputs per thread,
//           staged double-buffered in padded workgroup memory), below.
// Backward (LoRA training; base weights are frozen, so only the activation gradient):
//   gemm_dx_*  dx = dy W, the transposed product, on the same tile body.
//   wgrad_f32  dW (+)= alpha · dyᵀ x for small trainable weights (LoRA factors).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,       // row stride of y (≥ yOffset + N)
  yOffset: u32,   // first column of y written by this dispatch
  accumulate: u32 // 1: y += x Wᵀ (residual / LoRA-friendly); 0: y = x Wᵀ
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
// f32 entry points: binding 1 = w_f32, 2 = y, 3 = params
@group(0) @binding(1) var<storage, read> w_f32: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_f32w: array<f32>;
@group(0) @binding(3) var<uniform> p_f32w: Params;
// q4 entry points: binding 1 = w_q4, 2 = scales, 3 = y, 4 = params
@group(0) @binding(1) var<storage, read> w_q4: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> y_q4w: array<f32>;
@group(0) @binding(4) var<uniform> p_q4w: Params;

fn scale_at(i: u32) -> f32 { return scale_value(scales[scale_word(i)], i); }

// ---- gemm_*: the tiled GEMMs (prefill, training): one tile body for all four entry points -----
//
// Every entry point computes out[m, c] (+)= Σ_r a[m, r] · b[r, c] for one TILE_M × TILE_N tile of
// the output, walking the reduction r in steps of TILE_K:
//   gemm_f32, gemm_q4        y = x Wᵀ   a = x [M, K] (r = k)           b[r, c] = W[c, r], c = n < N
//   gemm_dx_f32, gemm_dx_q4  dx = dy W  a = dy [M, ldy] (r = n, from   b[r, c] = W[r, c], c = k < K
//                                       column yOffset)
// (dx is the backward of y = x Wᵀ with respect to x: the same weight rows, reduced over n; a
// row-split weight is one dispatch per chunk, each reading its own columns of dy.)
// Bindings of all four: 0 a as f32, 1 W (q4 words or f32 bit patterns), 2 scales (the f32 entry
// points bind W again), 3 y or dx, 4 a again as vec4s (read when A_VEC4), 5 Params.
//
// Register blocking: WG_M × WG_N threads, each owning 8×8 outputs — rows 4ty + {0, TILE_M/2} + 0..3,
// columns 4tx + {0, TILE_N/2} + 0..3 — so one step of r is four vec4 reads of workgroup memory
// for 64 FMAs (4 FMAs per float read; neighbouring threads read neighbouring vec4s). The
// accumulators are written out, never indexed by a loop variable (such an array can end up in
// memory instead of registers: SwiftShader 8× slower).
// Staging: ta[r][m] and tb[r][c] (vec4s along m and c), two stages — the next step of r is staged
// while this one is multiplied, one barrier per step. Rows are padded by one vec4 (stride
// TILE_M + 4 floats ≡ 4 mod 8), which makes the transposing stores of a conflict-free: a warp
// stages 16 rows of a × two vec4s of r (full 32-byte sectors from global memory) and stores
// float j of row m, r-vec4 h at (4h + j)·stride + m — the two h land 16 banks apart, 32 banks
// in all. b's transposing stores (forward) go along c, its natural ones (dx) are vec4s.
// Workgroup memory: 2 · TILE_K · (TILE_M + TILE_N + 8) floats — 8.5 KiB for 64×64, 16.5 KiB
// for 128×128 tiles (matmul.ts uses those only where the device allows it); half of that with
// both tiles f16 (the tile_a / tile_b lines below).
override WG_M: u32 = 8u; // threads along m; TILE_M = 8 · WG_M
override WG_N: u32 = 8u;
override TILE_K: u32 = 8u; // a multiple of 8 (one q4 word)
override A_VEC4: bool = false; // a's rows start on vec4s and K (forward) or ldy, yOffset (dx) % 4 == 0
override TILE_M: u32 = 8u * WG_M;
override TILE_N: u32 = 8u * WG_N;
override SA4: u32 = TILE_M / 4u + 1u; // vec4s per staged row, one of padding
override SB4: u32 = TILE_N / 4u + 1u;

@group(0) @binding(4) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p_gemm: Params;

// Element types of the staged tiles. matmul.ts's f16 variants (devices with shader-f16) put
// `enable f16;` before this file and turn these lines to f16: both tiles for gemm_* (x and W), only
// tb for gemm_dx_* — dy, the gradient, is often below f16's normal range (6.1e-5) and would lose
// its digits. The products and the accumulators stay f32 (a tile vec4 is widened as it is read),
// so f16 halves the workgroup memory and its traffic per FMA without f16 arithmetic: each value
// is rounded once, on its way in (relative 2^-11; bound: f16DotBound in gemv.ts).
alias tile_a = f32;
alias tile_b = f32;

var<workgroup> ta: array<vec4<tile_a>, 2u * TILE_K * SA4>;
var<workgroup> tb: array<vec4<tile_b>, 2u * TILE_K * SB4>;

// The product in terms of a, b and the output (see above).
struct Gemm {
  rows: u32,    // M
  cols: u32,    // output columns: N, or K for dx
  red: u32,     // reduction length: K, or N for dx
  a_ld: u32,    // row stride of a
  a_off: u32,   // a's first column
  out_ld: u32,  // row stride of the output
  out_off: u32, // the output's first column
}

fn geometry(dx: bool) -> Gemm {
  let p = p_gemm;
  if (dx) { return Gemm(p.M, p.K, p.N, p.ldy, p.yOffset, p.K, 0u); }
  return Gemm(p.M, p.N, p.K, p.K, 0u, p.ldy, p.yOffset);
}

// W[n, k .. k+7] as two vec4s (zero past N and K). q4: k is a multiple of 8, one word.
fn w_eight(n: u32, k: u32, q4: bool) -> mat2x4<f32> {
  let p = p_gemm;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  if (n < p.N && k < p.K) {
    if (q4) {
      let word = w_q4[n * (p.K / 8u) + k / 8u];
      let s = scale_at(n * (p.K / 32u) + k / 32u);
      lo = (vec4<f32>(vec4<u32>(word, word >> 4u, word >> 8u, word >> 12u) & vec4<u32>(15u)) - 7.0) * s;
      hi = (vec4<f32>(vec4<u32>(word >> 16u, word >> 20u, word >> 24u, word >> 28u) & vec4<u32>(15u)) - 7.0) * s;
    } else {
      for (var j = 0u; j < 4u; j++) {
        if (k + j < p.K) { lo[j] = bitcast<f32>(w_q4[n * p.K + k + j]); }
        if (k + 4u + j < p.K) { hi[j] = bitcast<f32>(w_q4[n * p.K + k + 4u + j]); }
      }
    }
  }
  return mat2x4<f32>(lo, hi);
}

// a[m0 .., r0 ..] → stage s of ta (zero outside rows and red).
fn stage_a(g: Gemm, s: u32, m0: u32, r0: u32, lid: u32) {
  let base = s * TILE_K * SA4;
  let per_row = TILE_K / 4u;
  for (var e = lid; e < TILE_M * per_row; e += WG_M * WG_N) {
    let row = e / per_row;
    let r = 4u * (e % per_row);
    var v = vec4<f32>(0.0);
    if (m0 + row < g.rows) {
      let i = (m0 + row) * g.a_ld + g.a_off + r0 + r;
      if (A_VEC4 && r0 + r + 4u <= g.red) {
        v = xv[i / 4u];
      } else {
        for (var j = 0u; j < 4u; j++) {
          if (r0 + r + j < g.red) { v[j] = x[i + j]; }
        }
      }
    }
    for (var j = 0u; j < 4u; j++) { ta[base + (r + j) * SA4 + row / 4u][row % 4u] = tile_a(v[j]); }
  }
}

// b[r0 .., c0 ..] → stage s of tb (zero outside).
fn stage_b(s: u32, c0: u32, r0: u32, lid: u32, q4: bool, dx: bool) {
  let base = s * TILE_K * SB4;
  if (dx) {
    // W rows are reduction rows: 8 columns at a time, stored as they lie
    let per_row = TILE_N / 8u;
    for (var e = lid; e < TILE_K * per_row; e += WG_M * WG_N) {
      let r = e / per_row;
      let c = 8u * (e % per_row);
      let w = w_eight(r0 + r, c0 + c, q4);
      tb[base + r * SB4 + c / 4u] = vec4<tile_b>(w[0]);
      tb[base + r * SB4 + c / 4u + 1u] = vec4<tile_b>(w[1]);
    }
    return;
  }
  // W rows are output columns: 8 steps of r at a time, transposed (neighbouring threads store
  // neighbouring columns)
  for (var e = lid; e < TILE_N * (TILE_K / 8u); e += WG_M * WG_N) {
    let c = e % TILE_N;
    let r = 8u * (e / TILE_N);
    let w = w_eight(c0 + c, r0 + r, q4);
    for (var j = 0u; j < 8u; j++) { tb[base + (r + j) * SB4 + c / 4u][c % 4u] = tile_b(w[j / 4u][j % 4u]); }
  }
}

// acc[4·(2·ib + jb) + i][j] += Σ_r a[4ty + ib·TILE_M/2 + i, r] · b[r, 4tx + jb·TILE_N/2 + j] over
// the TILE_K steps of stage s.
fn tile_product(acc: ptr<function, array<vec4<f32>, 16>>, s: u32, tx: u32, ty: u32) {
  for (var r = 0u; r < TILE_K; r++) {
    let ia = (s * TILE_K + r) * SA4 + ty;
    let ib = (s * TILE_K + r) * SB4 + tx;
    let a0 = vec4<f32>(ta[ia]);
    let a1 = vec4<f32>(ta[ia + WG_M]);
    let b0 = vec4<f32>(tb[ib]);
    let b1 = vec4<f32>(tb[ib + WG_N]);
    (*acc)[0] += a0.x * b0;
    (*acc)[1] += a0.y * b0;
    (*acc)[2] += a0.z * b0;
    (*acc)[3] += a0.w * b0;
    (*acc)[4] += a0.x * b1;
    (*acc)[5] += a0.y * b1;
    (*acc)[6] += a0.z * b1;
    (*acc)[7] += a0.w * b1;
    (*acc)[8] += a1.x * b0;
    (*acc)[9] += a1.y * b0;
    (*acc)[10] += a1.z * b0;
    (*acc)[11] += a1.w * b0;
    (*acc)[12] += a1.x * b1;
    (*acc)[13] += a1.y * b1;
    (*acc)[14] += a1.z * b1;
    (*acc)[15] += a1.w * b1;
  }
}

fn gemm_tile(wid: vec3<u32>, lid: u32, q4: bool, dx: bool) {
  let g = geometry(dx);
  let m0 = wid.y * TILE_M;
  let c0 = wid.x * TILE_N;
  let tx = lid % WG_N;
  let ty = lid / WG_N;
  var acc: array<vec4<f32>, 16>;
  let steps = (g.red + TILE_K - 1u) / TILE_K;
  stage_a(g, 0u, m0, 0u, lid);
  stage_b(0u, c0, 0u, lid, q4, dx);
  workgroupBarrier();
  for (var t = 0u; t < steps; t++) {
    // stage t + 1 was last read in step t − 1, before its closing barrier
    if (t + 1u < steps) {
      stage_a(g, (t + 1u) & 1u, m0, (t + 1u) * TILE_K, lid);
      stage_b((t + 1u) & 1u, c0, (t + 1u) * TILE_K, lid, q4, dx);
    }
    tile_product(&acc, t & 1u, tx, ty);
    workgroupBarrier();
  }
  let add = p_gemm.accumulate == 1u;
  for (var blk = 0u; blk < 4u; blk++) {
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * ty + (blk / 2u) * (TILE_M / 2u) + i;
      for (var j = 0u; j < 4u; j++) {
        let c = c0 + 4u * tx + (blk % 2u) * (TILE_N / 2u) + j;
        if (m < g.rows && c < g.cols) {
          let o = m * g.out_ld + g.out_off + c;
          y_q4w[o] = select(0.0, y_q4w[o], add) + acc[4u * blk + i][j];
        }
      }
    }
  }
}

@compute @workgroup_size(WG_M * WG_N)
fn gemm_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  gemm_tile(wid, lid, false, false);
}

@compute @workgroup_size(WG_M * WG_N)
fn gemm_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  gemm_tile(wid, lid, true, false);
}

@compute @workgroup_size(WG_M * WG_N)
fn gemm_dx_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  gemm_tile(wid, lid, false, true);
}

@compute @workgroup_size(WG_M * WG_N)
fn gemm_dx_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  gemm_tile(wid, lid, true, true);
}

// ---- wgrad_f32: gradient of a small trainable weight -------------------------------------------
//
//   dy [M, N] f32, x [M, K] f32  →  dw [N, K] (+)= alpha · dyᵀ x
//
// In the forward this was `y[m, n] = Σ_k x[m, k] · W[n, k]`, so dW[n, k] = Σ_m dy[m, n] · x[m, k]:
// the reduction is over tokens. One thread per (n, k), looping over M. Meant for LoRA factors
// (N·K ≤ r·d, a few tens of thousands of outputs), not for base weights (frozen).

struct WgradParams {
  M: u32,
  N: u32,
  K: u32,
  accumulate: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> wg_dy: array<f32>;
@group(0) @binding(1) var<storage, read> wg_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> wg_dw: array<f32>;
@group(0) @binding(3) var<uniform> wg_p: WgradParams;

@compute @workgroup_size(256)
fn wgrad_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= wg_p.N * wg_p.K) { return; }
  let n = i / wg_p.K;
  let k = i % wg_p.K;
  var acc = 0.0;
  for (var m = 0u; m < wg_p.M; m++) { acc += wg_dy[m * wg_p.N + n] * wg_x[m * wg_p.K + k]; }
  wg_dw[i] = select(0.0, wg_dw[i], wg_p.accumulate == 1u) + wg_p.alpha * acc;
}
