// Residual add forward: h[i] += x[i] over n values (h, x [n] f32).
// The engine fuses its two residual adds into RMSNorm (accumulate mode); this kernel is the plain
// op for callers without a norm in between (and the LoRA path: y += s·B(Ax)).
// Backward of an add is the identity: dx = dh.

struct Params {
  n: u32,
  gridX: u32,
  alpha: f32, // h += alpha · x
}

const ADD_THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> h: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(ADD_THREADS)
fn residual_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * ADD_THREADS + lid;
  if (i >= p.n) { return; }
  h[i] += p.alpha * x[i];
}
