// LoRA branch of one adapted projection, forward and backward (PEFT's lora.Linear, unmerged):
//
//   forward   x̃ = dropout(x)  (training only; keep-mask / (1 − p), else x̃ = x)
//             u = x̃ Aᵀ                      [T, R]     lora_down
//             y += s · u Bᵀ                  [T, OUT]   lora_up
//   backward  (the forward line y += s·B(A x̃) differentiated)
//             g  = dy B                      [T, R]     lora_dy_b   (shared by the three below)
//             dB += s · dyᵀ u                [OUT, R]   lora_grad_b (u recomputed with lora_down)
//             dA += s · gᵀ x̃                 [R, IN]    lora_grad_a
//             dx += s · (g A) ⊙ mask/(1−p)   [T, IN]    lora_grad_x
//
//   x [T, IN], y / dy [T, OUT], A [R, IN], B [OUT, R], all f32 row-major (PEFT's layout).
//   R up to LORA_MAX_RANK (a mix of adapters concatenates ranks); IN, OUT up to 9216 and beyond.
//
// The dropout mask is a hash of (seed, t, k): the backward recomputes exactly the forward's mask
// when it is given the same seed and the same rows — nothing is stored between the two.
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

// lora_down and lora_dy_b reduce over a long axis (IN or OUT, up to 9216) into few outputs
// (T·R): each workgroup owns WG / KS outputs, and KS threads split one output's sum (thread s
// takes k = s, s + KS, …); one barrier, then the first slice adds the KS partial sums. Every
// thread of a warp is in the same slice, on neighbouring outputs. lora.ts picks KS: 64 for few
// outputs (decode), 8 for many outputs over a long sum (training), 1 for a short sum.
override KS: u32 = 8u;
const WG: u32 = 256u;

var<workgroup> red: array<f32, 256>;

// ---- bindings, aliased per entry point (each uses 0..2 storage + 3 uniform)
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Keep-multiplier of element (t, k) of x: 0 or 1/(1−p). PCG-style hash, uniform in [0, 1).
fn keep(t: u32, k: u32) -> f32 {
  if (p.dropout <= 0.0) { return 1.0; }
  var h = p.seed * 747796405u + t * 2891336453u + k * 1664525u + 1013904223u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  h = h * 2654435761u;
  h = h ^ (h >> 16u);
  let u = f32(h >> 8u) / 16777216.0;
  return select(0.0, 1.0 / (1.0 - p.dropout), u >= p.dropout);
}

// Output index of this thread (row-major over [T, R]; the grid may be 2-D past the dispatch limit)
// and its slice.
fn split_output(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> vec2<u32> {
  let outs = WG / KS;
  return vec2<u32>((wid.x + wid.y * nwg.x) * outs + lid % outs, lid / outs);
}

// The sum of the KS partial sums of this thread's output (valid in slice 0).
fn gather_slices(lid: u32, acc: f32) -> f32 {
  red[lid] = acc;
  workgroupBarrier();
  let outs = WG / KS;
  var total = 0.0;
  if (lid < outs) {
    for (var s = 0u; s < KS; s++) { total += red[s * outs + lid]; }
  }
  return total;
}

// u[t, j] = Σ_k A[j, k] · x̃[t, k].  in0 = x, in1 = A, out2 = u.  Grid: ceil(T·R / (WG / KS)).
@compute @workgroup_size(WG)
fn lora_down(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let os = split_output(wid, nwg, lid);
  let valid = os.x < p.T * p.R;
  let t = os.x / p.R;
  let j = os.x % p.R;
  var acc = 0.0;
  if (valid) {
    for (var k = os.y; k < p.IN; k += KS) {
      acc += in1[j * p.IN + k] * in0[t * p.IN + k] * keep(t, k);
    }
  }
  let total = gather_slices(lid, acc);
  if (os.y == 0u && valid) { out2[os.x] = total; }
}

// y[t, n] += s · Σ_j B[n, j] · u[t, j].  in0 = u, in1 = B, out2 = y.  Grid (ceil(OUT / WG), T).
@compute @workgroup_size(WG)
fn lora_up(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * WG + lid;
  let t = wid.y;
  if (n >= p.OUT) { return; }
  var acc = 0.0;
  for (var j = 0u; j < p.R; j++) { acc += in1[n * p.R + j] * in0[t * p.R + j]; }
  out2[t * p.OUT + n] += p.scale * acc;
}

// g[t, j] = Σ_n dy[t, n] · B[n, j]  (no s: it is applied once in each consumer).
// in0 = dy, in1 = B, out2 = g.  Grid as lora_down.
@compute @workgroup_size(WG)
fn lora_dy_b(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let os = split_output(wid, nwg, lid);
  let valid = os.x < p.T * p.R;
  let t = os.x / p.R;
  let j = os.x % p.R;
  var acc = 0.0;
  if (valid) {
    for (var n = os.y; n < p.OUT; n += KS) { acc += in0[t * p.OUT + n] * in1[n * p.R + j]; }
  }
  let total = gather_slices(lid, acc);
  if (os.y == 0u && valid) { out2[os.x] = total; }
}

// dB[n, j] += s · Σ_t dy[t, n] · u[t, j].  in0 = dy, in1 = u, out2 = dB.
// One thread per element of dB; grid (ceil(OUT·R / WG)).
@compute @workgroup_size(WG)
fn lora_grad_b(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  if (i >= p.OUT * p.R) { return; }
  let n = i / p.R;
  let j = i % p.R;
  var acc = 0.0;
  for (var t = 0u; t < p.T; t++) { acc += in0[t * p.OUT + n] * in1[t * p.R + j]; }
  out2[i] += p.scale * acc;
}

// dA[j, k] += s · Σ_t g[t, j] · x̃[t, k].  in0 = g, in1 = x, out2 = dA.  Grid (ceil(IN / WG), R).
@compute @workgroup_size(WG)
fn lora_grad_a(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x * WG + lid;
  let j = wid.y;
  if (k >= p.IN) { return; }
  var acc = 0.0;
  for (var t = 0u; t < p.T; t++) { acc += in0[t * p.R + j] * in1[t * p.IN + k] * keep(t, k); }
  out2[j * p.IN + k] += p.scale * acc;
}

// dx[t, k] += s · keep(t, k) · Σ_j g[t, j] · A[j, k].  in0 = g, in1 = A, out2 = dx.
// Grid (ceil(IN / WG), T).
@compute @workgroup_size(WG)
fn lora_grad_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x * WG + lid;
  let t = wid.y;
  if (k >= p.IN) { return; }
  var acc = 0.0;
  for (var j = 0u; j < p.R; j++) { acc += in0[t * p.R + j] * in1[j * p.IN + k]; }
  out2[t * p.IN + k] += p.scale * keep(t, k) * acc;
}
