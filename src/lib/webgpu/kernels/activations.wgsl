// Elementwise activations shared by several kernels (gelu-gate.wgsl, gemv's epilogues, lm-head.wgsl):
// the .ts files prepend this text to theirs.

const GELU_K: f32 = 0.7978845608028654; // √(2/π)

// tanh saturates to ±1 in f32 beyond |z| ≈ 9; clamping keeps exp-based tanh implementations
// (some drivers) from producing inf/inf = NaN for large arguments.
fn tanh_safe(z: f32) -> f32 { return tanh(clamp(z, -15.0, 15.0)); }

// gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
fn gelu_tanh(g: f32) -> f32 { return 0.5 * g * (1.0 + tanh_safe(GELU_K * (g + 0.044715 * g * g * g))); }

// Gemma-2's logit softcap: cap · tanh(z / cap).
fn softcap(z: f32, cap: f32) -> f32 { return cap * tanh_safe(z / cap); }
