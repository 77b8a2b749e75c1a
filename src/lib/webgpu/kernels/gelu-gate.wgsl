// Gated GELU forward (Gemma-2 MLP): y = gelu_tanh(gate) ⊙ up, elementwise over n = T·I values.
//
//   gate [n] f32, up [n] f32, y [n] f32 (y may alias neither input: separate bindings).
//   gelu_tanh, tanh_safe, GELU_K: activations.wgsl (prepended by gelu-gate.ts).
// Decode does not use this entry point: the gate_up GEMV applies gelu in its epilogue (gemv.wgsl).
// Grid is 2-D (x ≤ 65535) so T·I beyond 16M elements still fits one dispatch.
// The backward (gelu_gate_backward, below) sits beside it.

// Bindings: GELU_GATE_BINDINGS in gelu-gate.ts, prepended to this file.

struct Params {
  n: u32,
  gridX: u32, // workgroups along x; index = (wid.y · gridX + wid.x) · GELU_THREADS + lid
}

override GELU_THREADS: u32 = 256u;

@compute @workgroup_size(GELU_THREADS)
fn gelu_gate_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * GELU_THREADS + lid;
  if (i >= p.n) { return; }
  y[i] = gelu_tanh(gate[i]) * up[i];
}

// ---- gelu_gate_backward -----------------------------------------------------------------------
//
//   dy, gate, up [n]  →  dgate, dup [n]
//
// In the forward this was `y = gelu_tanh(gate) ⊙ up`, so
//   dup   = dy · gelu_tanh(gate)
//   dgate = dy · up · gelu_tanh'(gate),  gelu_tanh'(x) = 0.5(1+t) + 0.5·x·(1−t²)·k·(1 + 3·0.044715·x²)
// with t = tanh(k(x + 0.044715x³)) — the product rule on 0.5·x·(1 + t).

// (dgate, dup) of one element.
fn gate_grads(dy: f32, g: f32, u: f32) -> vec2<f32> {
  let t = tanh_safe(GELU_K * (g + 0.044715 * g * g * g));
  let dgelu = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * 0.044715 * g * g);
  return vec2<f32>(dy * u * dgelu, dy * 0.5 * g * (1.0 + t));
}

@compute @workgroup_size(GELU_THREADS)
fn gelu_gate_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * bw_p.gridX + wid.x) * GELU_THREADS + lid;
  if (i >= bw_p.n) { return; }
  let d = gate_grads(bw_dy[i], bw_gate[i], bw_up[i]);
  bw_dgate[i] = d.x;
  bw_dup[i] = d.y;
}

// gelu_gate_backward_inplace: the same maths with the results written over the inputs
// (gate ← dgate, up ← dup), for a backward that no longer needs gate and up: two [T, I] buffers
// fewer. Each thread reads its gate[i], up[i] before it writes them.

@compute @workgroup_size(GELU_THREADS)
fn gelu_gate_backward_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * ip_p.gridX + wid.x) * GELU_THREADS + lid;
  if (i >= ip_p.n) { return; }
  let d = gate_grads(ip_dy[i], ip_gate[i], ip_up[i]);
  ip_gate[i] = d.x;
  ip_up[i] = d.y;
}
