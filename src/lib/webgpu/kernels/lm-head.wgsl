// Final logit softcap, in place on the LM head's output: z = c · tanh(z / c)   (c = 30 for Gemma-2)
//
//   logits [n] f32 (n = rows · V). The LM head itself is the matmul kernel over the tied
//   embedding's row chunks (lm-head.ts); only the softcap needs its own entry point.
// Training does not use this path: the LM head, this softcap and the loss are fused and chunked
// over the vocabulary, forward and backward, in cross-entropy.wgsl (dz = dy · (1 − (y/c)²) there).

struct Params {
  n: u32,
  gridX: u32,
  cap: f32,
}

const CAP_THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(CAP_THREADS)
fn softcap_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * CAP_THREADS + lid;
  if (i >= p.n) { return; }
  // tanh saturates in f32 beyond |z/c| ≈ 9; the clamp guards exp-based tanh against inf/inf.
  logits[i] = p.cap * tanh(clamp(logits[i] / p.cap, -15.0, 15.0));
}
