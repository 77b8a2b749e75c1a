// Cross-entropy on the tied LM head's soft-capped logits, in vocabulary blocks (forward and
// backward), for the supervised rows only. The logits of one block z [R, nb] = hf E[v0 .. v0+nb]ᵀ
// come from the matmul kernel (cross-entropy.ts); these entry points do the rest:
//
//   l = c · tanh(z / c)                        final softcap (c = 30 for Gemma-2; 0 = none)
//   loss_r = logsumexp_v(l_rv) − l_r,target    per row, over the whole vocabulary
//
// ce_forward_block folds one block into each row's running (m, s) with an online log-sum-exp
// (m = max so far, s = Σ exp(l − m)) and picks up the target's logit when it lies in the block; on
// the last block it writes lse and loss. Nothing wider than one block of logits ever exists.
//
// ce_backward_block recomputes the block's logits (the caller reruns the matmul) and turns them
// into the gradient of Σ_r loss_r · gradScale with respect to z, in place:
//   `loss = lse − l[target]`   → dl_v = softmax(l)_v − [v = target] = exp(l_v − lse) − onehot
//   `l = c·tanh(z/c)`          → dz = dl · (1 − (l/c)²)
// which the caller then multiplies back through the head (dhf += dz E, matmul backward).
//
//   z       [R, ldz] f32 (columns 0 .. nb−1 used)
//   targets [R] u32 (vocabulary ids)
//   stats   [R, 4] f32: (m, s, target logit, lse)
//   loss    [R] f32

struct Params {
  R: u32,
  nb: u32,       // columns of this block
  ldz: u32,      // row stride of z
  v0: u32,       // vocabulary id of column 0
  first: u32,    // 1: start the running (m, s)
  last: u32,     // 1: finish (lse, loss)
  cap: f32,
  gradScale: f32,
  gridX: u32,    // ce_backward_block: workgroups along x
}

// 256 threads per row: a block of a few thousand columns is a dozen strided reads per thread.
const CE_THREADS: u32 = 256u;
// Stand-in for −∞: exp(NEG − finite) = 0.
const NEG: f32 = -3.0e38;

// Bindings: CROSS_ENTROPY_BINDINGS in cross-entropy.ts (z, targets, stats, loss, p; the backward
// binds no loss and takes its parameters as bp), prepended to this file.

var<workgroup> red: array<f32, CE_THREADS>;

fn capped(v: f32, cap: f32) -> f32 {
  if (cap > 0.0) {
    // tanh saturates in f32 beyond |z/c| ≈ 9; the clamp guards exp-based tanh against inf/inf.
    return cap * tanh(clamp(v / cap, -15.0, 15.0));
  }
  return v;
}

// One workgroup per row r.
@compute @workgroup_size(CE_THREADS)
fn ce_forward_block(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let base = r * p.ldz;
  let tgt = targets[r];
  // block max
  var bmax = NEG;
  for (var c = lid; c < p.nb; c += CE_THREADS) {
    let l = capped(z[base + c], p.cap);
    bmax = max(bmax, l);
    if (p.v0 + c == tgt) { stats[r * 4u + 2u] = l; }
  }
  red[lid] = bmax;
  // the target's logit (written by whichever thread owns its column) is read by thread 0 below
  storageBarrier();
  for (var s = CE_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
  }
  workgroupBarrier();
  let m_old = select(stats[r * 4u], NEG, p.first == 1u);
  let s_old = select(stats[r * 4u + 1u], 0.0, p.first == 1u);
  let m_new = max(m_old, red[0]);
  workgroupBarrier(); // everyone has read red[0] before it is reused
  // block Σ exp(l − m_new)
  var bsum = 0.0;
  for (var c = lid; c < p.nb; c += CE_THREADS) { bsum += exp(capped(z[base + c], p.cap) - m_new); }
  red[lid] = bsum;
  for (var s = CE_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
  if (lid == 0u) {
    // the running sum was relative to m_old: rescale it to m_new and add the block
    let s_new = s_old * exp(m_old - m_new) + red[0];
    stats[r * 4u] = m_new;
    stats[r * 4u + 1u] = s_new;
    if (p.last == 1u) {
      let lse = m_new + log(s_new);
      stats[r * 4u + 3u] = lse;
      // the target's block ran in an earlier (or this) dispatch; this thread wrote it if it is here
      loss[r] = lse - stats[r * 4u + 2u];
    }
  }
}

// One thread per element of the block [R, nb]: z ← ∂(gradScale · Σ loss)/∂z, in place.
@compute @workgroup_size(CE_THREADS)
fn ce_backward_block(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * bp.gridX + wid.x) * CE_THREADS + lid;
  if (i >= bp.R * bp.nb) { return; }
  let r = i / bp.nb;
  let c = i % bp.nb;
  let o = r * bp.ldz + c;
  let l = capped(z[o], bp.cap);
  var dl = exp(l - stats[r * 4u + 3u]);
  if (bp.v0 + c == targets[r]) { dl -= 1.0; }
  var dz = dl;
  if (bp.cap > 0.0) {
    let t = l / bp.cap;
    dz = dl * (1.0 - t * t);
  }
  z[o] = dz * bp.gradScale;
}
