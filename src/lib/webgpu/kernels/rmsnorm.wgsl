// RMSNorm forward, multiplier form (the stored vector already holds HF's 1 + w):
//   y[t, :] (+)= x[t, :] · rsqrt(mean(x[t, :]²) + eps) · w
//
//   x [T, C] f32, w [C] f32, y [T, C] f32. One workgroup per row; RMS_THREADS threads stride over C
//   and reduce Σx² in shared memory. `accumulate` = 1 fuses Gemma-2's post-norm residual
//   h += RMSNorm_post(o) into one pass (y = h then).
// The backward (dx = r·u − (r³/C)·x·Σ(x ⊙ u), u = dy ⊙ w) will sit beside it.

struct Params {
  T: u32,
  C: u32,
  eps: f32,
  accumulate: u32,
}

// 256 threads: C = 2304 is 9 strided reads per thread; the tree takes 8 steps.
const RMS_THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red: array<f32, RMS_THREADS>;

@compute @workgroup_size(RMS_THREADS)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let base = t * p.C;
  var ss = 0.0;
  for (var c = lid; c < p.C; c += RMS_THREADS) { let v = x[base + c]; ss += v * v; }
  red[lid] = ss;
  for (var s = RMS_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
  let r = inverseSqrt(red[0] / f32(p.C) + p.eps);
  for (var c = lid; c < p.C; c += RMS_THREADS) {
    let v = x[base + c] * r * w[c];
    y[base + c] = select(v, y[base + c] + v, p.accumulate == 1u);
  }
}
