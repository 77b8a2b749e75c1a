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
//   gemm_*  prefill, training (M > 1): TILE_M×TILE_N output tile per workgroup, K in steps of TILE_K staged
//           in workgroup memory k-major (xs[k][m], ws[k][n]); each of the 16×16 threads owns a
//           4×4 block of neighbouring outputs (8×8 with BIG tiles), so one step of k is two vec4
//           reads of shared memory for 16 FMAs (four for 64). Grid (ceil(N/TILE_N), ceil(M/TILE_M)).
// Backward (LoRA training; base weights are frozen, so only the activation gradient):
//   gemm_dx_*  dx = dy W, the transposed product, below the forward entry points.
//   wgrad_f32  dW (+)= alpha · dyᵀ x for small trainable weights (LoRA factors).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,       // row stride of y (≥ yOffset + N)
  yOffset: u32,   // first column of y written by this dispatch
  accumulate: u32 // 1: y += x Wᵀ (residual / LoRA-friendly); 0: y = x Wᵀ
}

// 64×64 outputs per workgroup, 4×4 per thread; TILE_K = 32: both staged tiles take 16 KB, the
// WebGPU minimum of maxComputeWorkgroupStorageSize (gemm_* use no other workgroup memory).
// 64-row tiles keep a 512-token training GEMM at hundreds of workgroups. (SwiftShader, 256×1024×1024
// q4: 0.55 GFLOP/s with 4 strided scalar reads per k and TILE_K 16, 1.5–2.0 GFLOP/s like this.)
// BIG (matmul.ts, long sequences): 128×128 tiles and TILE_K 16 (also 16 KB); each thread owns 8×8
// outputs — four vec4 reads for 64 FMAs per k. A thread's rows are 4ty + 64·ib + 0..3 and its
// columns 4tx + 64·jb + 0..3 (ib, jb < 2), so neighbouring threads still read neighbouring vec4s.
// Written out without loops over the blocks: an accumulator array indexed by a loop variable can
// end up in memory instead of registers (SwiftShader: 8× slower).
override BIG: bool = false;
override TILE_M: u32 = select(64u, 128u, BIG);
override TILE_N: u32 = TILE_M;
override TILE_K: u32 = select(32u, 16u, BIG);
override TILE_M4: u32 = TILE_M / 4u; // vec4s per k-row of xs
override TILE_N4: u32 = TILE_N / 4u;

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

// xs[k][m] and ws[k][n] as vec4s: xs[kk * TILE_M4 + m / 4][m % 4].
var<workgroup> xs: array<vec4<f32>, TILE_K * TILE_M4>;
var<workgroup> ws: array<vec4<f32>, TILE_K * TILE_N4>;

// Stages the x tile [TILE_M, TILE_K] (zero outside M, K).
fn load_x_tile(p: Params, m0: u32, k0: u32, lid: u32) {
  for (var i = lid; i < TILE_M * TILE_K; i += 256u) {
    let row = i / TILE_K;
    let col = i % TILE_K;
    var v = 0.0;
    if (m0 + row < p.M && k0 + col < p.K) { v = x[(m0 + row) * p.K + k0 + col]; }
    xs[col * TILE_M4 + row / 4u][row % 4u] = v;
  }
}

// acc[8·ib + 4·jb + r][c] += Σ_kk x[4ty + 64·ib + r, kk] · w[4tx + 64·jb + c, kk] (ib = jb = 0
// unless BIG).
fn tile_product(acc: ptr<function, array<vec4<f32>, 16>>, tx: u32, ty: u32) {
  if (!BIG) {
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a = xs[kk * TILE_M4 + ty];
      let b = ws[kk * TILE_N4 + tx];
      (*acc)[0] += a.x * b;
      (*acc)[1] += a.y * b;
      (*acc)[2] += a.z * b;
      (*acc)[3] += a.w * b;
    }
    return;
  }
  for (var kk = 0u; kk < TILE_K; kk++) {
    let a0 = xs[kk * TILE_M4 + ty];
    let a1 = xs[kk * TILE_M4 + ty + 16u];
    let b0 = ws[kk * TILE_N4 + tx];
    let b1 = ws[kk * TILE_N4 + tx + 16u];
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

// Row offset (within the tile, from 4ty) and column offset (from 4tx) of accumulator block blk:
// blk = 2·ib + jb ↔ acc[4·blk .. 4·blk + 3].
fn block_row(blk: u32) -> u32 { return 64u * (blk / 2u); }
fn block_col(blk: u32) -> u32 { return 64u * (blk % 2u); }

@compute @workgroup_size(256)
fn gemm_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_f32w;
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    load_x_tile(p, m0, k0, lid);
    for (var i = lid; i < TILE_N * TILE_K; i += 256u) {
      let row = i / TILE_K;
      let col = i % TILE_K;
      var v = 0.0;
      if (n0 + row < p.N && k0 + col < p.K) { v = w_f32[(n0 + row) * p.K + k0 + col]; }
      ws[col * TILE_N4 + row / 4u][row % 4u] = v;
    }
    workgroupBarrier();
    tile_product(&acc, tx, ty);
    workgroupBarrier();
  }
  for (var blk = 0u; blk < 4u; blk++) {
    if (!BIG && blk > 0u) { break; }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * ty + block_row(blk) + i;
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * tx + block_col(blk) + j;
        if (m < p.M && n < p.N) {
          let o = m * p.ldy + p.yOffset + n;
          y_f32w[o] = select(0.0, y_f32w[o], p.accumulate == 1u) + acc[4u * blk + i][j];
        }
      }
    }
  }
}

@compute @workgroup_size(256)
fn gemm_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_q4w;
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let words = p.K / 8u;
  var acc: array<vec4<f32>, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    load_x_tile(p, m0, k0, lid);
    // TILE_N rows × TILE_K/8 words (256 either way): one thread dequantizes one word (8 weights).
    if (lid < TILE_N * (TILE_K / 8u)) {
      let row = lid / (TILE_K / 8u);
      let kw = (lid % (TILE_K / 8u)) * 8u; // the word's first k inside the tile
      let n = n0 + row;
      if (n < p.N) {
        let word = w_q4[n * words + (k0 + kw) / 8u];
        let s = scale_at(n * (p.K / 32u) + (k0 + kw) / 32u);
        for (var j = 0u; j < 8u; j++) {
          ws[(kw + j) * TILE_N4 + row / 4u][row % 4u] = (f32((word >> (4u * j)) & 15u) - 7.0) * s;
        }
      } else {
        for (var j = 0u; j < 8u; j++) { ws[(kw + j) * TILE_N4 + row / 4u][row % 4u] = 0.0; }
      }
    }
    workgroupBarrier();
    tile_product(&acc, tx, ty);
    workgroupBarrier();
  }
  for (var blk = 0u; blk < 4u; blk++) {
    if (!BIG && blk > 0u) { break; }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * ty + block_row(blk) + i;
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * tx + block_col(blk) + j;
        if (m < p.M && n < p.N) {
          let o = m * p.ldy + p.yOffset + n;
          y_q4w[o] = select(0.0, y_q4w[o], p.accumulate == 1u) + acc[4u * blk + i][j];
        }
      }
    }
  }
}

// ---- gemm_dx_*: the backward of y = x Wᵀ with respect to x -------------------------------------
//
//   dy [M, ldy] f32 (columns yOffset .. yOffset+N−1 belong to this weight chunk), W [N, K]
//   → dx [M, K] f32 (dx = … or dx += … with accumulate = 1)
//
// In the forward this was `y[m, n] = Σ_k x[m, k] · W[n, k]`, so dx[m, k] = Σ_n dy[m, n] · W[n, k]:
// the same weight rows, reduced over n instead of k. The tile scheme is the forward GEMM's with the
// roles swapped: a workgroup owns TILE_M tokens × TILE_N input features (k), and walks n in steps
// of TILE_K. xs holds dy[m, n] as xs[n][m] and ws holds W[n, k] as ws[n][k] (weight rows as they
// are stored), so tile_product is shared unchanged.
// Bindings are the forward's (x = dy, y = dx). A row-split weight is handled by the caller: one
// dispatch per chunk, each reading its own columns of dy and accumulating into dx.

// Stages the dy tile [TILE_M, TILE_K] = dy[m0 .., yOffset + n0 ..] (zero outside M, N).
fn load_dy_tile(p: Params, m0: u32, n0: u32, lid: u32) {
  for (var i = lid; i < TILE_M * TILE_K; i += 256u) {
    let row = i / TILE_K;
    let col = i % TILE_K;
    var v = 0.0;
    if (m0 + row < p.M && n0 + col < p.N) { v = x[(m0 + row) * p.ldy + p.yOffset + n0 + col]; }
    xs[col * TILE_M4 + row / 4u][row % 4u] = v;
  }
}

@compute @workgroup_size(256)
fn gemm_dx_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_f32w;
  let m0 = wid.y * TILE_M;
  let k0 = wid.x * TILE_N;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 16>;
  for (var n0 = 0u; n0 < p.N; n0 += TILE_K) {
    load_dy_tile(p, m0, n0, lid);
    // W[n0 .. n0+TILE_K, k0 .. k0+TILE_N] → ws[n][k] (consecutive threads read consecutive k).
    for (var i = lid; i < TILE_N * TILE_K; i += 256u) {
      let nn = i / TILE_N;
      let kk = i % TILE_N;
      var v = 0.0;
      if (n0 + nn < p.N && k0 + kk < p.K) { v = w_f32[(n0 + nn) * p.K + k0 + kk]; }
      ws[nn * TILE_N4 + kk / 4u][kk % 4u] = v;
    }
    workgroupBarrier();
    tile_product(&acc, tx, ty);
    workgroupBarrier();
  }
  // (Written out per entry point: a shared helper would statically use both y bindings.)
  for (var blk = 0u; blk < 4u; blk++) {
    if (!BIG && blk > 0u) { break; }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * ty + block_row(blk) + i;
      for (var j = 0u; j < 4u; j++) {
        let k = k0 + 4u * tx + block_col(blk) + j;
        if (m < p.M && k < p.K) {
          let o = m * p.K + k;
          y_f32w[o] = select(0.0, y_f32w[o], p.accumulate == 1u) + acc[4u * blk + i][j];
        }
      }
    }
  }
}

@compute @workgroup_size(256)
fn gemm_dx_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_q4w;
  let m0 = wid.y * TILE_M;
  let k0 = wid.x * TILE_N;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let words = p.K / 8u;
  var acc: array<vec4<f32>, 16>;
  for (var n0 = 0u; n0 < p.N; n0 += TILE_K) {
    load_dy_tile(p, m0, n0, lid);
    // TILE_K rows × TILE_N/8 words (256 either way): one thread dequantizes one word (8 weights).
    if (lid < TILE_K * (TILE_N / 8u)) {
      let nn = lid / (TILE_N / 8u);
      let wi = lid % (TILE_N / 8u);
      let n = n0 + nn;
      let kb = k0 + wi * 8u; // first k of this word
      if (n < p.N && kb < p.K) {
        let word = w_q4[n * words + kb / 8u];
        let s = scale_at(n * (p.K / 32u) + kb / 32u);
        // the word's 8 weights are k = kb .. kb+7: two vec4s of the k-row
        let lo = vec4<f32>(vec4<u32>(word, word >> 4u, word >> 8u, word >> 12u) & vec4<u32>(15u)) - 7.0;
        let hi = vec4<f32>(vec4<u32>(word >> 16u, word >> 20u, word >> 24u, word >> 28u) & vec4<u32>(15u)) - 7.0;
        ws[nn * TILE_N4 + wi * 2u] = lo * s;
        ws[nn * TILE_N4 + wi * 2u + 1u] = hi * s;
      } else {
        ws[nn * TILE_N4 + wi * 2u] = vec4<f32>(0.0);
        ws[nn * TILE_N4 + wi * 2u + 1u] = vec4<f32>(0.0);
      }
    }
    workgroupBarrier();
    tile_product(&acc, tx, ty);
    workgroupBarrier();
  }
  for (var blk = 0u; blk < 4u; blk++) {
    if (!BIG && blk > 0u) { break; }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * ty + block_row(blk) + i;
      for (var j = 0u; j < 4u; j++) {
        let k = k0 + 4u * tx + block_col(blk) + j;
        if (m < p.M && k < p.K) {
          let o = m * p.K + k;
          y_q4w[o] = select(0.0, y_q4w[o], p.accumulate == 1u) + acc[4u * blk + i][j];
        }
      }
    }
  }
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
