// The per-pair updates of the fused cross pass A x B, shared by the CPU tile loop and the GPU kernels.
//
// Balls are centred on the rows of A (radii_a, ka columns) and of B (kb columns); a point's count
// of balls holding it and the smallest such radius are kept, and per centre the number of points in
// its ball. Nearest-neighbour lists run both ways, and realism (top-1 of radius / distance over the
// kept balls on A, per point of B and column). Every update belongs to one side: the A side writes
// only state of A rows (the A-ball centre counts, the A points' counts in B balls, A's neighbour
// lists), the B side only state of B rows, with one exception: the ball decisions of a pair are
// made once and counted for both sides, every counter by atomic adds and minima (integers and a
// minimum: the order of the updates cannot change them), so that the B side keeps only its
// neighbour lists and realism. The CPU calls both sides and the balls for each pair under the
// locks of both row blocks; the GPU decides the balls in its scan, a thread per few pairs
// (kernels.cuh scan_hits), and runs one thread per row of each side for the lists.
#pragma once

#include "common/matrix.hpp"
#include "common/oracle.hpp"
#include "common/realism.hpp"
#include "common/topk_row.hpp"

namespace fastprdc {

// The original rows of one set (the oracle's inputs) and, optionally (exact mode on data with
// identical rows, cpu/duplicates.hpp), their groups of identical rows: ids shared by the sets of a pass,
// equal exactly when the rows hold the same values, i.e. when the oracle distance is 0.
struct OracleRows {
  MatrixView m;
  const int64_t* group = nullptr;
};

// Whether the groups (when there are any) say that row i of a and row j of b are identical.
FASTPRDC_HD bool same_group(const OracleRows& a, int64_t i, const OracleRows& b, int64_t j) {
  return a.group && b.group && a.group[i] == b.group[j];
}

// Evaluates row i of a against the np rows pending[] of b and writes each result to position
// at[] of d2s / scale.
FASTPRDC_HD void oracle_pairs_at(const MatrixView& a, int64_t i, const MatrixView& b, const int32_t* pending,
                                 const int* at, int np, double* d2s, double* scale) {
  double pd2[4], ps[4];
  oracle_pairs(a, i, b, pending, np, pd2, ps);
  for (int q = 0; q < np; ++q) {
    d2s[at[q]] = pd2[q];
    scale[at[q]] = ps[q];
  }
}

// oracle_pairs over OracleRows: pairs of identical rows get the oracle's value for them, d2s = 0
// and s = 1, without an evaluation, and a row identical to an earlier one of js (found through a
// small cache of groups) gets that row's value, which the oracle computes from the same numbers;
// the others are evaluated four side by side as before. Returns the number of float64
// evaluations.
FASTPRDC_HD int oracle_pairs(const OracleRows& a, int64_t i, const OracleRows& b, const int32_t* js, int n, double* d2s,
                             double* scale) {
  if (!a.group || !b.group) {
    oracle_pairs(a.m, i, b.m, js, n, d2s, scale);
    return n;
  }
  constexpr int kSlots = 16;
  int64_t slot_group[kSlots];
  int slot_at[kSlots];
  for (int q = 0; q < kSlots; ++q) slot_group[q] = -1;
  int32_t pending[4];
  int at[4];
  int np = 0, evaluated = 0;
  for (int t = 0; t < n; ++t) {
    const int64_t g = b.group[js[t]];
    if (g == a.group[i]) {
      d2s[t] = 0.0;
      scale[t] = 1.0;
      continue;
    }
    const int q = static_cast<int>(g % kSlots);
    if (slot_group[q] == g) {
      scale[t] = -1.0 - slot_at[q];  // a copy of position slot_at[q], filled below
      continue;
    }
    slot_group[q] = g;
    slot_at[q] = t;
    pending[np] = js[t];
    at[np++] = t;
    if (np == 4) {
      oracle_pairs_at(a.m, i, b.m, pending, at, np, d2s, scale);
      evaluated += np;
      np = 0;
    }
  }
  oracle_pairs_at(a.m, i, b.m, pending, at, np, d2s, scale);
  evaluated += np;
  for (int t = 0; t < n; ++t) {
    if (scale[t] < 0.0) {
      const int src = static_cast<int>(-1.0 - scale[t]);
      d2s[t] = d2s[src];
      scale[t] = scale[src];
    }
  }
  return evaluated;
}

// The oracle distance of one pair, evaluated at most once and counted as a recheck.
struct PairDistance {
  const OracleRows* a;
  const OracleRows* b;
  int64_t i, j;
  int64_t* rechecks;
  double d = -1.0;

  FASTPRDC_HD OraclePair pair() const { return oracle_pair(a->m, i, b->m, j); }
  FASTPRDC_HD double get() {
    if (d < 0.0 && same_group(*a, i, *b, j)) d = 0.0;
    if (d < 0.0) {
      d = pair().dist();
      ++*rechecks;
    }
    return d;
  }
};

// Balls centred on the rows of one set: radii (data units) and their frame thresholds.
struct BallSet {
  int32_t k = 0;
  const double* radii = nullptr;      // rows x k
  const float* th_inside = nullptr;   // rows x k
  const float* th_outside = nullptr;  // rows x k
  const float* reach = nullptr;       // rows: the largest th_outside (gate)
};

// Fills the thresholds and the reach of centre i (host loop or one thread per centre);
// zeros_counted: see radius_thresholds.
FASTPRDC_HD void ball_thresholds(const double* radii, int32_t k, int64_t i, double scale, bool exact, bool strict,
                                 bool zeros_counted, float* th_inside, float* th_outside, float* reach) {
  float g = -inf_f32();
  for (int32_t c = 0; c < k; ++c) {
    const RadiusThresholds t = radius_thresholds(radii[i * k + c], scale, exact, strict, zeros_counted);
    th_inside[i * k + c] = t.inside;
    th_outside[i * k + c] = t.outside;
    g = t.outside > g ? t.outside : g;
  }
  reach[i] = g;
}

// Whether the bounds of a pair leave open whether the ball (centre, column c) holds its point:
// neither inside (the upper bound below `inside`) nor outside (the lower bound above `outside`, or
// -inf there: a ball that needs no pair, radius_thresholds, though data too extreme for the bound
// offer every pair with a lower bound of -inf).
FASTPRDC_HD bool ball_undecided(const BallSet& balls, int64_t centre, int32_t c, float lo, float hi) {
  const int64_t at = centre * balls.k + c;
  return !(hi < balls.th_inside[at]) && !(lo > balls.th_outside[at] || balls.th_outside[at] == -inf_f32());
}

// Whether the ball (centre, column c) holds the pair's point: by the bounds, else by the oracle.
FASTPRDC_HD bool ball_contains(const BallSet& balls, int64_t centre, int32_t c, float lo, float hi, bool strict,
                               PairDistance& pd) {
  const int64_t at = centre * balls.k + c;
  if (!ball_undecided(balls, centre, c, lo, hi)) return hi < balls.th_inside[at];
  const double r = balls.radii[at];
  const double d = pd.get();
  return strict ? d < r : d <= r;
}

// Keys of the neighbour lists: oracle distances from row `row` of `from` to rows js of `to`.
struct KnnKeys {
  const OracleRows* from;
  const OracleRows* to;
  FASTPRDC_HD int operator()(int64_t row, const int32_t* js, int32_t n, double* out, double* scale) const {
    const int evaluated = oracle_pairs(*from, row, *to, js, n, out, scale);
    for (int32_t t = 0; t < n; ++t) out[t] = sqrt(out[t]) / scale[t];
    return evaluated;
  }
};

// Exact distance (data units) -> frame d^2 (the bound domain of the neighbour lists).
struct KnnToDomain {
  double scale;
  FASTPRDC_HD double operator()(double dist) const {
    const double v = dist * scale;
    return v * v;
  }
};

// Keys of the realism collectors: -ratio of collector row (point j, column c) for centres js.
struct RealismKeys {
  const OracleRows* centres;  // A
  const OracleRows* points;   // B
  const double* radii;        // A rows x kr (data units; negative = pruned)
  int32_t kr;
  double eps;
  FASTPRDC_HD int operator()(int64_t row, const int32_t* is, int32_t n, double* out, double* scale) const {
    const int64_t j = row / kr;
    const int32_t c = static_cast<int32_t>(row % kr);
    const int evaluated = oracle_pairs(*points, j, *centres, is, n, out, scale);
    for (int32_t t = 0; t < n; ++t)
      out[t] = -realism_ratio(radii[static_cast<int64_t>(is[t]) * kr + c], OraclePair{out[t], scale[t]}, eps);
    return evaluated;
  }
};

// Finalised top-k keys to distances: identity for exact keys; without `exact` the keys are frame
// d^2 estimates, mapped back to data units.
FASTPRDC_HD void keys_to_distances(double* keys, int64_t k, bool exact, double scale) {
  if (exact) return;
  for (int64_t t = 0; t < k; ++t) keys[t] = sqrt(keys[t] > 0.0 ? keys[t] : 0.0) / scale;
}

struct IdentityDomain {
  FASTPRDC_HD double operator()(double v) const { return v; }
};

// Everything the cross pass reads and writes, as raw arrays (host vectors or device memory).
struct CrossState {
  OracleRows a, b;
  bool exact = true;
  bool strict = false;
  double frame_scale = 1.0;

  BallSet balls_a;                  // centred on A
  int64_t* b_count = nullptr;       // B rows x ka: A-balls holding b_j
  double* b_min_radius = nullptr;   // B rows x ka
  int64_t* a_ball_count = nullptr;  // A rows x ka: B points in the ball of a_i
  BallSet balls_b;                  // centred on B
  int64_t* a_count = nullptr;       // A rows x kb
  double* a_min_radius = nullptr;   // A rows x kb
  int64_t* b_ball_count = nullptr;  // B rows x kb

  TopkStore top_a;  // nearest B rows of each A row
  TopkStore top_b;  // nearest A rows of each B row

  // Realism on balls centred on A: per B row and column, the largest ratio (top-1 of -ratio).
  int32_t kr = 0;
  const double* realism_radii = nullptr;  // A rows x kr (data units; negative = pruned)
  const double* realism_frame = nullptr;  // A rows x kr: radius x frame scale, negative = pruned,
                                          // NaN = imprecise there (realism_frame)
  const double* realism_rmax = nullptr;   // kr: largest kept frame radius, negative if none
  double realism_eps = -1.0;              // form (see realism_ratio), data units
  double realism_eps_frame = -1.0;        // the same in the frame
  TopkStore top_r;                        // B rows * kr rows, k = 1

  // Offers collector `row` (point j, column c) of the realism lists the centres zs[0..n) (-1: none)
  // with their exact keys: the centres of radius 0 settled before the sweep (realism_frame's
  // zeros_preset). Returns the evaluations.
  FASTPRDC_HD int64_t offer_realism_exact(int64_t row, const int32_t* zs, int n, const TopkScratch& sc) const {
    const RealismKeys keys{&a, &b, realism_radii, kr, realism_eps};
    int64_t evaluated = 0;
    for (int q = 0; q < n; ++q) {
      if (zs[q] < 0) continue;
      double key, aux;
      evaluated += keys(row, zs + q, 1, &key, &aux);
      const PairBounds kb = exact_value_bounds(key);
      evaluated += topk::offer(top_r, row, kb.lo, kb.hi, zs[q], true, keys, IdentityDomain{}, sc);
    }
    return evaluated;
  }

  // Row i's neighbour list needs a pair when the pair's lower bound is at or below this (-inf
  // without a list). `knn_cap`: another upper bound on the row's k-th key (the GPU's tile gates).
  FASTPRDC_HD float list_gate_a(int64_t i, float knn_cap = inf_f32()) const {
    if (!top_a.active()) return -inf_f32();
    return top_a.threshold[i] < knn_cap ? top_a.threshold[i] : knn_cap;
  }
  // A row of A needs a pair (its list, or its balls) when the pair's lower bound is at or below
  // this.
  FASTPRDC_HD float gate_a(int64_t i) const {
    const float g = list_gate_a(i);
    return balls_a.k && balls_a.reach[i] > g ? balls_a.reach[i] : g;
  }

  // `realism_caps` (kr values, or none): other upper bounds on the final keys of row j's realism
  // collectors, in the form of their thresholds (the GPU's tile gates).
  FASTPRDC_HD float gate_b(int64_t j, float knn_cap = inf_f32(), const float* realism_caps = nullptr) const {
    float g = -inf_f32();
    if (top_b.active()) g = top_b.threshold[j] < knn_cap ? top_b.threshold[j] : knn_cap;
    for (int32_t c = 0; c < kr; ++c) {
      if (realism_rmax[c] < 0.0) continue;
      float t = top_r.threshold[j * kr + c];
      if (realism_caps && realism_caps[c] < t) t = realism_caps[c];
      const float r = realism_gate(t, realism_rmax[c], realism_eps_frame);
      if (r > g) g = r;
    }
    return g;
  }

  // Whether the pair matters to row i of A (the CPU's, whose row loop decides the balls too): its
  // own gate, or the reach of B's ball j.
  FASTPRDC_HD bool needs_a(float lo, float gate_ai, int64_t j) const {
    return lo <= gate_ai || (balls_b.k && lo <= balls_b.reach[j]);
  }
  // Whether the pair matters to row j of B (its own gate; the balls are the A side's): a pair
  // within the gate only through a realism column's gate, which assumes the column's largest kept
  // radius (rmax), only where its own centre's radius could still raise the point's best ratio
  // (realism_gate with that radius: the pairs left out are those whose every realism offer would
  // be refused).
  FASTPRDC_HD bool needs_b(float lo, float gate_bj, int64_t i, int64_t j) const {
    if (!(lo <= gate_bj)) return false;
    if (!kr || (top_b.active() && lo <= top_b.threshold[j])) return true;
    for (int32_t c = 0; c < kr; ++c) {
      const double rs = realism_frame[i * kr + c];
      if (rs < 0.0) continue;     // pruned: no ratio
      if (rs != rs) return true;  // imprecise: any ratio
      if (lo <= realism_gate(top_r.threshold[j * kr + c], rs, realism_eps_frame)) return true;
    }
    return false;
  }

  // Whether pair (i, j) is within the reach of a ball: the A ball of centre i, the B ball of j.
  FASTPRDC_HD bool near_balls(int64_t i, int64_t j, float lo) const {
    return (balls_a.k && lo <= balls_a.reach[i]) || (balls_b.k && lo <= balls_b.reach[j]);
  }

  // Whether any ball decision of pair (i, j) needs its oracle distance: the same decisions on
  // both sides (the A balls' centre i holding point j, the B balls' centre j holding point i).
  FASTPRDC_HD bool balls_undecided(int64_t i, int64_t j, float lo, float hi) const {
    if (balls_a.k && lo <= balls_a.reach[i])
      for (int32_t c = 0; c < balls_a.k; ++c)
        if (ball_undecided(balls_a, i, c, lo, hi)) return true;
    if (balls_b.k && lo <= balls_b.reach[j])
      for (int32_t c = 0; c < balls_b.k; ++c)
        if (ball_undecided(balls_b, j, c, lo, hi)) return true;
    return false;
  }

  // The A side of pair (i, j): its neighbour list (the ball decisions are `balls`'). Returns the
  // exact evaluations spent on list compaction.
  FASTPRDC_HD int64_t a_side(int64_t i, int64_t j, float lo, float hi, const TopkScratch& sc) const {
    if (!top_a.active()) return 0;
    const KnnKeys keys{&a, &b};
    return topk::offer(top_a, i, lo, hi, j, exact, keys, KnnToDomain{frame_scale}, sc);
  }

  // Every ball decision of pair (i, j), counted for both sides by atomic adds and minima: any
  // thread may decide any pair, and no order of the updates changes the counters.
  FASTPRDC_HD void balls(int64_t i, int64_t j, float lo, float hi, PairDistance& pd) const {
    if (balls_a.k && lo <= balls_a.reach[i]) {
      for (int32_t c = 0; c < balls_a.k; ++c) {
        if (!ball_contains(balls_a, i, c, lo, hi, strict, pd)) continue;
        atomic_add_i64(a_ball_count + i * balls_a.k + c, 1);
        atomic_add_i64(b_count + j * balls_a.k + c, 1);
        atomic_min_radius(b_min_radius + j * balls_a.k + c, balls_a.radii[i * balls_a.k + c]);
      }
    }
    if (balls_b.k && lo <= balls_b.reach[j]) {
      for (int32_t c = 0; c < balls_b.k; ++c) {
        if (!ball_contains(balls_b, j, c, lo, hi, strict, pd)) continue;
        atomic_add_i64(a_count + i * balls_b.k + c, 1);
        atomic_min_radius(a_min_radius + i * balls_b.k + c, balls_b.radii[j * balls_b.k + c]);
        atomic_add_i64(b_ball_count + j * balls_b.k + c, 1);
      }
    }
  }

  // The B side of pair (i, j): its neighbour list and realism.
  FASTPRDC_HD int64_t b_side(int64_t i, int64_t j, float lo, float hi, const TopkScratch& sc) const {
    int64_t evaluated = 0;
    if (top_b.active()) {
      const KnnKeys keys{&b, &a};
      evaluated += topk::offer(top_b, j, lo, hi, i, exact, keys, KnnToDomain{frame_scale}, sc);
    }
    if (kr) {
      const RealismKeys keys{&a, &b, realism_radii, kr, realism_eps};
      for (int32_t c = 0; c < kr; ++c) {
        const double rs = realism_frame[i * kr + c];
        if (rs < 0.0) continue;
        // NaN: frame values that lost their precision, the exact recheck decides
        const PairBounds kb = rs != rs ? realism_any_key() : realism_key_bounds(rs, lo, hi, realism_eps_frame);
        evaluated += topk::offer(top_r, j * kr + c, kb.lo, kb.hi, i, exact, keys, IdentityDomain{}, sc);
      }
    }
    return evaluated;
  }
};

}  // namespace fastprdc
