// LoRA branch of one adapted projection, forward and backward (PEFT's lora.Linear, unmerged):
//
//   forward   x̃ = dropout(x)  (training only; keep-mask / (1 − p), else x̃ = x)
//             u = x̃ Aᵀ                      [T, R]     lora_rows_forward (one dispatch)
//             y += s · u Bᵀ                  [T, OUT]
//   backward  (the forward line y += s·B(A x̃) differentiated)
//             u = x̃ Aᵀ (recomputed)          [T, R]     lora_rows_backward
//             g  = dy B                      [T, R]
//             dx += s · (g A) ⊙ mask/(1−p)   [T, IN]
//             dB += s · dyᵀ u                [OUT, R]   lora_weight_grads
//             dA += s · gᵀ x̃                 [R, IN]
//
//   x [T, IN], y / dy [T, OUT], A [R, IN], B [OUT, R], all f32 row-major (PEFT's layout).
//   R up to LORA_MAX_RANK (a mix of adapters concatenates ranks); IN, OUT up to 9216 and beyond.
//
// The dropout mask is a hash of (seed, t, k): the backward recomputes exactly the forward's mask
// (and, with the same reduction, exactly its u) when it is given the same seed and the same rows —
// nothing is stored between the two.
// Every entry point binds its buffers from 0 in the order the .ts passes them, params last.

struct Params {
  T: u32,
  IN: u32,
  OUT: u32,
  R: u32,
  scale: f32,    // s = alpha / r (or alpha / sqrt(r))
  dropout: f32,  // p ∈ [0, 1); 0 = no dropout
  seed: u32,
  pad: u32,
}

const WG: u32 = 256u;

var<workgroup> red: array<f32, WG>;

// Keep-multiplier of element (t, k) of x: 0 or 1/(1−p). PCG-style hash, uniform in [0, 1).
fn keep(q: Params, t: u32, k: u32) -> f32 {
  if (q.dropout <= 0.0) { return 1.0; }
  var h = q.seed * 747796405u + t * 2891336453u + k * 1664525u + 1013904223u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  h = h * 2654435761u;
  h = h ^ (h >> 16u);
  let u = f32(h >> 8u) / 16777216.0;
  return select(0.0, 1.0 / (1.0 - q.dropout), u >= q.dropout);
}

// ---- row kernels: one workgroup per token row t ------------------------------------------------
//
// lora_rows_forward    u[t, :] = x̃[t] Aᵀ (kept in u), then y[t, :] += s · u[t] Bᵀ   — one dispatch
// lora_rows_backward   u[t, :] = x̃[t] Aᵀ, g[t, :] = dy[t] B (both kept for lora_weight_grads),
//                      then dx[t, :] += s · keep · (g[t] A)                         — one dispatch
// A row's u and g stay in workgroup memory between the two phases. The reductions over IN or OUT
// run 16 outputs at a time, 16 neighbouring threads (neighbouring k) per output.
// Bindings: 0 x, 1 A, 2 dy (the forward binds x again), 3 B, 4 u, 5 y or dx, then 6 params
// (forward) or 6 g, 7 params (backward).
@group(0) @binding(0) var<storage, read> r_x: array<f32>;
@group(0) @binding(1) var<storage, read> r_a: array<f32>;
@group(0) @binding(2) var<storage, read> r_dy: array<f32>;
@group(0) @binding(3) var<storage, read> r_b: array<f32>;
@group(0) @binding(4) var<storage, read_write> r_u: array<f32>;
@group(0) @binding(5) var<storage, read_write> r_out: array<f32>;
@group(0) @binding(6) var<uniform> p6: Params;
@group(0) @binding(6) var<storage, read_write> r_g: array<f32>;
@group(0) @binding(7) var<uniform> p7: Params;

const ROW_OUTS: u32 = 16u; // outputs per reduction pass, WG / ROW_OUTS threads each
const MAX_RANK: u32 = 1024u; // LORA_MAX_RANK in lora.ts
var<workgroup> row_v: array<f32, MAX_RANK>; // u[t, :] or g[t, :]

// row_v[j] = Σ_k x̃[t, k] · A[j, k] (grad = false) or Σ_n dy[t, n] · B[n, j] (grad = true).
fn row_reduce(q: Params, t: u32, lid: u32, grad: bool) {
  let len = select(q.IN, q.OUT, grad);
  let s = lid % (WG / ROW_OUTS);
  let jj = lid / (WG / ROW_OUTS);
  for (var j0 = 0u; j0 < q.R; j0 += ROW_OUTS) {
    let j = j0 + jj;
    var acc = 0.0;
    if (j < q.R) {
      for (var k = s; k < len; k += WG / ROW_OUTS) {
        if (grad) {
          acc += r_dy[t * q.OUT + k] * r_b[k * q.R + j];
        } else {
          acc += r_x[t * q.IN + k] * keep(q, t, k) * r_a[j * q.IN + k];
        }
      }
    }
    red[lid] = acc;
    workgroupBarrier();
    if (s == 0u && j < q.R) {
      var total = 0.0;
      for (var i = 0u; i < WG / ROW_OUTS; i++) { total += red[lid + i]; }
      row_v[j] = total;
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn lora_rows_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let q = p6;
  let t = wid.x + wid.y * nwg.x;
  if (t >= q.T) { return; }
  row_reduce(q, t, lid, false);
  for (var j = lid; j < q.R; j += WG) { r_u[t * q.R + j] = row_v[j]; }
  for (var n = lid; n < q.OUT; n += WG) {
    var acc = 0.0;
    for (var j = 0u; j < q.R; j++) { acc += r_b[n * q.R + j] * row_v[j]; }
    r_out[t * q.OUT + n] += q.scale * acc;
  }
}

@compute @workgroup_size(WG)
fn lora_rows_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let q = p7;
  let t = wid.x + wid.y * nwg.x;
  if (t >= q.T) { return; }
  row_reduce(q, t, lid, false);
  for (var j = lid; j < q.R; j += WG) { r_u[t * q.R + j] = row_v[j]; }
  // (row_v is rewritten only after the first barrier of the next reduction: every thread has
  // stored its u by then)
  row_reduce(q, t, lid, true);
  for (var j = lid; j < q.R; j += WG) { r_g[t * q.R + j] = row_v[j]; }
  for (var k = lid; k < q.IN; k += WG) {
    var acc = 0.0;
    for (var j = 0u; j < q.R; j++) { acc += row_v[j] * r_a[j * q.IN + k]; }
    r_out[t * q.IN + k] += q.scale * keep(q, t, k) * acc;
  }
}

// ---- lora_weight_grads: dA and dB in one dispatch, tiled over tokens -------------------------
//
//   dA[j, k] += s · Σ_t g[t, j] · x̃[t, k]      [R, IN]
//   dB[n, j] += s · Σ_t dy[t, n] · u[t, j]      [OUT, R]
// The first workgroups take dA, the rest dB. A workgroup owns WG columns (k or n) × 16 ranks:
// it stages 16 tokens × 16 ranks of g (or u) in workgroup memory, and each thread reads its
// column of x̃ (or dy) once per token for 16 FMAs — x is read ceil(R / 16) times in all, not R.
// Bindings: 0 x, 1 dy, 2 u, 3 g, 4 dA, 5 dB, 6 params.
@group(0) @binding(1) var<storage, read> w_dy: array<f32>;
@group(0) @binding(2) var<storage, read> w_u: array<f32>;
@group(0) @binding(3) var<storage, read> w_g: array<f32>;
@group(0) @binding(4) var<storage, read_write> w_da: array<f32>;
@group(0) @binding(5) var<storage, read_write> w_db: array<f32>;

const GT: u32 = 16u; // tokens per staged chunk = ranks per workgroup
var<workgroup> lt: array<vec4<f32>, 64>; // [GT tokens][16 ranks] of g or u

@compute @workgroup_size(WG)
fn lora_weight_grads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let q = p6;
  let blocks = (q.R + GT - 1u) / GT; // rank blocks
  let groups_a = ((q.IN + WG - 1u) / WG) * blocks;
  var w = wid.x + wid.y * nwg.x;
  let is_a = w < groups_a;
  if (!is_a) { w -= groups_a; }
  let cols = select(q.OUT, q.IN, is_a);
  let j0 = GT * (w % blocks);
  let col0 = (w / blocks) * WG;
  if (col0 >= cols) { return; }
  let col = col0 + lid;
  var acc = array<vec4<f32>, 4>();
  let tt = lid / GT;
  let jj = lid % GT;
  for (var t0 = 0u; t0 < q.T; t0 += GT) {
    var v = 0.0;
    if (t0 + tt < q.T && j0 + jj < q.R) {
      let i = (t0 + tt) * q.R + j0 + jj;
      if (is_a) { v = w_g[i]; } else { v = w_u[i]; }
    }
    lt[tt * 4u + jj / 4u][jj % 4u] = v;
    workgroupBarrier();
    if (col < cols) {
      for (var i = 0u; i < GT && t0 + i < q.T; i++) {
        let t = t0 + i;
        var c: f32;
        if (is_a) { c = r_x[t * q.IN + col] * keep(q, t, col); } else { c = w_dy[t * q.OUT + col]; }
        acc[0] += c * lt[i * 4u];
        acc[1] += c * lt[i * 4u + 1u];
        acc[2] += c * lt[i * 4u + 2u];
        acc[3] += c * lt[i * 4u + 3u];
      }
    }
    workgroupBarrier();
  }
  if (col >= cols) { return; }
  for (var j = 0u; j < GT && j0 + j < q.R; j++) {
    let v = q.scale * acc[j / 4u][j % 4u];
    if (is_a) { w_da[(j0 + j) * q.IN + col] += v; } else { w_db[col * q.R + j0 + j] += v; }
  }
}
