// Final logit softcap, in place on the LM head's output: z = c · tanh(z / c)   (c = 30 for Gemma-2)
//
//   logits [n] f32 (n = rows · V). The LM head itself is the matmul kernel over the tied
//   embedding's row chunks (lm-head.ts); for a few rows (generation) the GEMV applies the softcap
//   in its epilogue, and this entry point serves the larger blocks. softcap(): activations.wgsl.
// Training does not use this path: the LM head, this softcap and the loss are fused and chunked
// over the vocabulary, forward and backward, in cross-entropy.wgsl (dz = dy · (1 − (y/c)²) there).

// Bindings: SOFTCAP_BINDINGS in lm-head.ts, prepended to this file.

struct Params {
  n: u32,
  gridX: u32,
  cap: f32,
}

override CAP_THREADS: u32 = 256u;

@compute @workgroup_size(CAP_THREADS)
fn softcap_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * CAP_THREADS + lid;
  if (i >= p.n) { return; }
  logits[i] = softcap(logits[i], p.cap);
}
