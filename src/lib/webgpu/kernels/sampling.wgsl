// Next-token sampling on the GPU, spread over many workgroups, so only one u32 crosses back to the
// CPU per generated token (and it can be read behind: the id also feeds the next embedding).
//
//   logits [V] f32 (the last position, after the final softcap; never modified);
//   seen [ceil(V/32)] u32, a bitset of the ids the repetition penalty applies to (the chosen id is
//   added to it); scratch [16 + 2·G·256] u32 (state and per-workgroup partials; G = ceil(V/CHUNK));
//   out [1] u32 (the chosen id).
//
// Semantics are Hugging Face `generate`'s, in its order:
//   1. repetition penalty (RepetitionPenaltyLogitsProcessor) on every id in `seen`:
//        z = z > 0 ? z / penalty : z · penalty                   (applied as each logit is read)
//   2. temperature ≤ 0 or top-k = 1 → greedy argmax (lowest id on ties), else z /= temperature
//   3. top-k (k > 0): keep tokens whose z ≥ the k-th largest z (ties at the boundary are kept,
//      like HF's `scores < topk(...)[-1]` removal)
//   4. top-p (p < 1): of those, keep the smallest highest-probability set whose probability mass
//      is ≥ p (HF removes the low tail whose cumulative mass ≤ 1 − p); at least one token
//   5. draw with the caller's uniform u ∈ [0, 1): the first id (in id order) whose cumulative
//      kept mass exceeds u · Σ kept mass.
//
// Entry points, each a dispatch (sampling.ts encodes them in this order):
//   extremes [G] → extremes_final [1]     argmax (lowest id on ties) and minimum; greedy ends here
//   4 × (hist [G] → select_bin [1])       top-k threshold: radix select, 8 bits of the key a round
//   4 × (hist [G] → select_bin [1])       top-p threshold: the same over probability mass
//   mass [G] → draw [1]                   inverse CDF in id order: which workgroup, then which id
// Each workgroup owns CHUNK consecutive ids. Thresholds are keys of the order-preserving u32
// encoding of the f32 values, found exactly (the largest key t with count(key ≥ t) ≥ k, then the
// largest t ≥ that with mass(key ≥ t) ≥ p · mass(key ≥ thrK)): no sort, no V-sized scratch.

struct Params {
  V: u32,
  G: u32,
  temperature: f32,
  penalty: f32,
  topK: u32,
  topP: f32,
  u: f32,
  // hist / select_bin: radix round 0..3 (bits 31..24 first) and mode (0 top-k counts, 1 top-p mass)
  round: u32,
  mode: u32,
}

const THREADS: u32 = 256u;
const PER_THREAD: u32 = 4u;
// Ids per workgroup (THREADS · PER_THREAD): V = 256000 spreads over 250 workgroups.
const CHUNK: u32 = 1024u;
// Radix bins per round (8 bits); one per thread of select_bin and of hist's count loop.
const BINS: u32 = 256u;

// scratch words: state, then the partials of the G workgroups
const S_ARGMAX: u32 = 0u;
const S_ZMAX: u32 = 1u; // max z (after temperature), f32 bits
const S_PREFIX: u32 = 2u; // radix prefix so far
const S_ABOVE: u32 = 3u; // count (top-k) above the prefix's range
const S_ABOVE_MASS: u32 = 4u; // mass (top-p) above the prefix's range, f32 bits
const S_TARGET: u32 = 5u; // p · Σ mass(key ≥ thrK), f32 bits
const S_THRK: u32 = 6u; // top-k threshold key
const S_THR: u32 = 7u; // final threshold key (top-k, then top-p)
const PART: u32 = 16u;

// Bindings: SAMPLING_BINDINGS in sampling.ts (logits, seen, scratch, then the parameters `pa`; the
// one-workgroup passes that may choose the id bind `out` before their parameters `pb`).

var<workgroup> wf: array<f32, THREADS>;
var<workgroup> wu: array<u32, THREADS>;
var<workgroup> wmin: array<f32, THREADS>;
var<workgroup> tile_bin: array<u32, CHUNK>;
var<workgroup> tile_mass: array<f32, CHUNK>;

// Monotone map f32 → u32: a < b ⇔ key(a) < key(b) (for non-NaN values).
fn key(f: f32) -> u32 {
  let b = bitcast<u32>(f);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// The logit of id i after the repetition penalty (f32, as HF edits the scores in place).
fn raw(i: u32, penalty: f32) -> f32 {
  let z = logits[i];
  if (penalty != 1.0 && ((seen[i >> 5u] >> (i & 31u)) & 1u) == 1u) {
    return select(z * penalty, z / penalty, z > 0.0);
  }
  return z;
}

fn z_at(i: u32, p: Params) -> f32 { return raw(i, p.penalty) / p.temperature; }

fn f(word: u32) -> f32 { return bitcast<f32>(word); }

// Argmax (lowest id on ties) and minimum over the workgroup; the result is in wf[0], wu[0], wmin[0].
fn reduce_extremes(lid: u32, best: f32, id: u32, lo: f32) {
  wf[lid] = best;
  wu[lid] = id;
  wmin[lid] = lo;
  for (var s = THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let ob = wf[lid + s];
      let oi = wu[lid + s];
      if (ob > wf[lid] || (ob == wf[lid] && oi < wu[lid])) { wf[lid] = ob; wu[lid] = oi; }
      wmin[lid] = min(wmin[lid], wmin[lid + s]);
    }
  }
  workgroupBarrier();
}

// Σ over the workgroup (tree); every thread returns the total.
fn sum_all(lid: u32, v: f32) -> f32 {
  wf[lid] = v;
  for (var s = THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { wf[lid] += wf[lid + s]; }
  }
  workgroupBarrier();
  return wf[0];
}

// The chosen id: out[0], and into the penalty's set for the next token.
fn choose(id: u32, V: u32) {
  out[0] = id;
  if (id < V) { seen[id >> 5u] |= 1u << (id & 31u); }
}

@compute @workgroup_size(THREADS)
fn extremes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = pa;
  var best = -3.4e38;
  var bestId = 0xffffffffu;
  var lo = 3.4e38;
  let end = min(p.V, (wid.x + 1u) * CHUNK);
  for (var i = wid.x * CHUNK + lid; i < end; i += THREADS) {
    let z = raw(i, p.penalty);
    if (z > best) { best = z; bestId = i; }
    lo = min(lo, z);
  }
  reduce_extremes(lid, best, bestId, lo);
  if (lid == 0u) {
    scratch[PART + wid.x] = bitcast<u32>(wf[0]);
    scratch[PART + p.G + wid.x] = wu[0];
    scratch[PART + 2u * p.G + wid.x] = bitcast<u32>(wmin[0]);
  }
}

@compute @workgroup_size(THREADS)
fn extremes_final(@builtin(local_invocation_index) lid: u32) {
  let p = pb;
  _ = &logits; // every entry binds logits, seen, scratch (sampling.ts)
  var best = -3.4e38;
  var bestId = 0xffffffffu;
  var lo = 3.4e38;
  for (var g = lid; g < p.G; g += THREADS) {
    let b = f(scratch[PART + g]);
    let i = scratch[PART + p.G + g];
    if (b > best || (b == best && i < bestId)) { best = b; bestId = i; }
    lo = min(lo, f(scratch[PART + 2u * p.G + g]));
  }
  reduce_extremes(lid, best, bestId, lo);
  if (lid != 0u) { return; }
  if (p.temperature <= 0.0 || p.topK == 1u) {
    choose(wu[0], p.V);
    return;
  }
  let thrK = key(wmin[0] / p.temperature);
  scratch[S_ARGMAX] = wu[0];
  scratch[S_ZMAX] = bitcast<u32>(wf[0] / p.temperature);
  scratch[S_PREFIX] = 0u;
  scratch[S_ABOVE] = 0u;
  scratch[S_ABOVE_MASS] = 0u;
  scratch[S_THRK] = thrK;
  scratch[S_THR] = thrK;
}

// Per workgroup, per bin of the round's 8 key bits: how many ids (and their mass) have the
// prefix's higher bits (top-p: and key ≥ thrK). Each thread sums one bin over the workgroup's
// ids in id order (no float atomics: the sums are the same on every run).
@compute @workgroup_size(THREADS)
fn hist(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = pa;
  let shift = 24u - 8u * p.round;
  let prefix = scratch[S_PREFIX];
  let zmax = f(scratch[S_ZMAX]);
  let floorKey = select(0u, scratch[S_THRK], p.mode == 1u);
  for (var j = lid; j < CHUNK; j += THREADS) {
    let i = wid.x * CHUNK + j;
    var bin = 0xffffffffu;
    var m = 0.0;
    if (i < p.V) {
      let z = z_at(i, p);
      let k = key(z);
      if (k >= floorKey && (p.round == 0u || (k >> (shift + 8u)) == (prefix >> (shift + 8u)))) {
        bin = (k >> shift) & (BINS - 1u);
        if (p.mode == 1u) { m = exp(z - zmax); }
      }
    }
    tile_bin[j] = bin;
    tile_mass[j] = m;
  }
  workgroupBarrier();
  var c = 0u;
  var ms = 0.0;
  for (var j = 0u; j < CHUNK; j++) {
    if (tile_bin[j] == lid) { c++; ms += tile_mass[j]; }
  }
  scratch[PART + wid.x * BINS + lid] = c;
  scratch[PART + (p.G + wid.x) * BINS + lid] = bitcast<u32>(ms);
}

// The largest bin whose count (mass) from the top reaches top-k (p · Z): 8 more bits of the
// threshold. After round 3 the threshold is complete.
@compute @workgroup_size(THREADS)
fn select_bin(@builtin(local_invocation_index) lid: u32) {
  let p = pa;
  _ = &logits;
  _ = &seen;
  var c = 0u;
  var m = 0.0;
  for (var g = 0u; g < p.G; g++) {
    c += scratch[PART + g * BINS + lid];
    m += f(scratch[PART + (p.G + g) * BINS + lid]);
  }
  wu[lid] = c;
  wf[lid] = m;
  workgroupBarrier();
  if (lid != 0u) { return; }
  var b = BINS - 1u;
  var prefix = scratch[S_PREFIX];
  if (p.mode == 0u) {
    var above = scratch[S_ABOVE];
    loop {
      if (above + wu[b] >= p.topK || b == 0u) { break; }
      above += wu[b];
      b--;
    }
    scratch[S_ABOVE] = above;
  } else {
    var goal = f(scratch[S_TARGET]);
    if (p.round == 0u) {
      var total = 0.0;
      for (var t = 0u; t < BINS; t++) { total += wf[BINS - 1u - t]; }
      goal = p.topP * total;
      scratch[S_TARGET] = bitcast<u32>(goal);
    }
    var above = f(scratch[S_ABOVE_MASS]);
    loop {
      if (above + wf[b] >= goal || b == 0u) { break; }
      above += wf[b];
      b--;
    }
    scratch[S_ABOVE_MASS] = bitcast<u32>(above);
  }
  prefix |= b << (24u - 8u * p.round);
  scratch[S_PREFIX] = prefix;
  if (p.round == 3u) {
    if (p.mode == 0u) {
      scratch[S_THRK] = prefix;
      scratch[S_THR] = prefix;
    } else {
      scratch[S_THR] = min(prefix, key(f(scratch[S_ZMAX])));
    }
    scratch[S_PREFIX] = 0u;
  }
}

// Kept mass of thread t's PER_THREAD consecutive ids of workgroup g (draw walks the same split).
fn kept_mass(g: u32, t: u32, p: Params, thr: u32, zmax: f32) -> f32 {
  var part = 0.0;
  for (var j = 0u; j < PER_THREAD; j++) {
    let i = g * CHUNK + t * PER_THREAD + j;
    if (i < p.V) {
      let z = z_at(i, p);
      if (key(z) >= thr) { part += exp(z - zmax); }
    }
  }
  return part;
}

@compute @workgroup_size(THREADS)
fn mass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = pa;
  let total = sum_all(lid, kept_mass(wid.x, lid, p, scratch[S_THR], f(scratch[S_ZMAX])));
  if (lid == 0u) { scratch[PART + wid.x] = bitcast<u32>(total); }
}

// Inverse CDF in id order: thread 0 walks the workgroups' masses to the one holding u · Σ, the
// threads split its ids, thread 0 walks their masses and then the ids. If rounding carries the
// goal past the end, the last kept id is taken.
@compute @workgroup_size(THREADS)
fn draw(@builtin(local_invocation_index) lid: u32) {
  let p = pb;
  let thr = scratch[S_THR];
  let zmax = f(scratch[S_ZMAX]);
  var total = 0.0;
  for (var g = 0u; g < p.G; g++) { total += f(scratch[PART + g]); }
  let goal = p.u * total;
  var acc = 0.0;
  var owner = p.G;
  var lastKept = 0u;
  for (var g = 0u; g < p.G; g++) {
    let part = f(scratch[PART + g]);
    if (part <= 0.0) { continue; }
    lastKept = g;
    if (acc + part > goal) { owner = g; break; }
    acc += part;
  }
  let found = owner < p.G;
  let group = select(lastKept, owner, found);
  wf[lid] = kept_mass(group, lid, p, thr, zmax);
  workgroupBarrier();
  if (lid != 0u) { return; }
  var ownerT = THREADS;
  var lastT = 0u;
  for (var t = 0u; t < THREADS; t++) {
    if (wf[t] <= 0.0) { continue; }
    lastT = t;
    if (found && acc + wf[t] > goal) { ownerT = t; break; }
    acc += wf[t];
  }
  let r = select(lastT, ownerT, ownerT < THREADS);
  var chosen = scratch[S_ARGMAX];
  for (var j = 0u; j < PER_THREAD; j++) {
    let i = group * CHUNK + r * PER_THREAD + j;
    if (i >= p.V) { break; }
    let z = z_at(i, p);
    if (key(z) >= thr) {
      chosen = i;
      acc += exp(z - zmax);
      if (ownerT < THREADS && acc > goal) { break; }
    }
  }
  choose(chosen, p.V);
}
