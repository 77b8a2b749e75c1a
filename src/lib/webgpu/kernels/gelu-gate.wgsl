// Gated GELU forward (Gemma-2 MLP): y = gelu_tanh(gate) ⊙ up, elementwise over n = T·I values.
//
//   gate [n] f32, up [n] f32, y [n] f32 (y may alias neither input: separate bindings).
//   gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
// Grid is 2-D (x ≤ 65535) so T·I beyond 16M elements still fits one dispatch.
// The backward (d/dx gelu, times up; and gelu(gate) for d up) will sit beside it.

struct Params {
  n: u32,
  gridX: u32, // workgroups along x; index = (wid.y · gridX + wid.x) · GELU_THREADS + lid
}

const GELU_THREADS: u32 = 256u;
const GELU_K: f32 = 0.7978845608028654;

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// tanh saturates to ±1 in f32 beyond |z| ≈ 9; clamping keeps exp-based tanh implementations
// (some drivers) from producing inf/inf = NaN for large gate values.
fn tanh_safe(z: f32) -> f32 { return tanh(clamp(z, -15.0, 15.0)); }

@compute @workgroup_size(GELU_THREADS)
fn gelu_gate_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * GELU_THREADS + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  let gl = 0.5 * g * (1.0 + tanh_safe(GELU_K * (g + 0.044715 * g * g * g)));
  y[i] = gl * up[i];
}
