// AdamW over flat f32 arrays (all LoRA parameters), exactly torch.optim.AdamW's single-tensor
// algorithm (amsgrad off), preceded by torch.nn.utils.clip_grad_norm_ (norm type 2):
//
//   grad_norm  total = sqrt(Σ g²) over EVERY parameter     two passes: sumsq_partial per block of
//                                                          each segment, then sumsq_final over
//                                                          all partials (one workgroup)
//   clip       coef = min(max_norm / (total + 1e-6), 1)   (1 when max_norm ≤ 0: no clipping)
//   step       g ← g·coef                                 torch: grads.mul_(clip_coef_clamped)
//              p ← p·(1 − lr·wd)                          decoupled decay, before the update
//              m ← m + (g − m)·(1 − β1)                   exp_avg.lerp_(grad, 1 − β1)
//              v ← β2·v + (1 − β2)·g²
//              p ← p − step_size · m / (sqrt(v) / bc2_sqrt + eps)
//   with step_size = lr / (1 − β1^t) and bc2_sqrt = sqrt(1 − β2^t) computed on the host in f64.
//
// Padding between tensors has p = g = m = v = 0 and stays 0.

struct NormParams {
  n: u32,            // elements of this segment
  per_thread: u32,   // elements each thread sums (a block is 256·per_thread elements)
  partial_base: u32, // first partial written by this dispatch
  count: u32,        // sumsq_partial: blocks of this segment; sumsq_final: number of partials
  max_norm: f32,     // sumsq_final: ≤ 0 = no clipping
}

struct StepParams {
  n: u32,
  decay: f32,          // 1 − lr·wd (host, f64 → f32, as torch's Python float)
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  step_size: f32,      // lr / (1 − β1^t)
  bc2_sqrt: f32,       // sqrt(1 − β2^t)
}

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

fn tree(lid: u32) {
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
}

// Bindings: ADAMW_BINDINGS in adamw.ts, prepended to this file.

// ---- sumsq_partial: grads → partials

// partials[base + block] = Σ g² over block (2-D grid: block = wid.y · nwg.x + wid.x).
@compute @workgroup_size(WG)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let block = wid.y * nwg.x + wid.x;
  let start = block * WG * np.per_thread;
  var acc = 0.0;
  for (var i = 0u; i < np.per_thread; i++) {
    let e = start + i * WG + lid; // coalesced: neighbouring threads read neighbouring elements
    if (e < np.n) { let g = grads_r[e]; acc += g * g; }
  }
  red[lid] = acc;
  tree(lid);
  if (lid == 0u && block < np.count) { partials_w[np.partial_base + block] = red[0]; }
}

// ---- sumsq_final: partials → norm [total_norm, clip_coef]

@compute @workgroup_size(WG)
fn sumsq_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < np.count; i += WG) { acc += partials_r[i]; }
  red[lid] = acc;
  tree(lid);
  if (lid == 0u) {
    let total = sqrt(red[0]);
    norm_w[0] = total;
    var coef = 1.0;
    if (np.max_norm > 0.0) { coef = min(np.max_norm / (total + 1e-6), 1.0); }
    norm_w[1] = coef;
  }
}

// ---- adamw_step: params, m, v updated from grads and norm

@compute @workgroup_size(WG)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= sp.n) { return; }
  let g = g_r[i] * norm_r[1];
  var p = p_w[i] * sp.decay;
  let m = m_w[i] + (g - m_w[i]) * sp.one_minus_beta1;
  let v = v_w[i] * sp.beta2 + sp.one_minus_beta2 * g * g;
  m_w[i] = m;
  v_w[i] = v;
  p -= sp.step_size * (m / (sqrt(v) / sp.bc2_sqrt + sp.eps)); // addcdiv_(m, denom, -step_size)
  p_w[i] = p;
}
