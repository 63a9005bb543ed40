#include "cpu/cross_pass.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error_bound.hpp"
#include "cpu/knn.hpp"
#include "cpu/oracle.hpp"
#include "cpu/prepare.hpp"
#include "cpu/scan.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

namespace {

constexpr float kNever = -std::numeric_limits<float>::infinity();
constexpr float kAlways = std::numeric_limits<float>::infinity();

// Balls centred on the rows of one set: radii (rows x k) and their scaled float32 thresholds.
struct Balls {
  int64_t k = 0;
  const double* radii = nullptr;
  std::vector<RadiusThresholds> th;  // rows x k
  std::vector<float> reach;          // per centre: largest `outside` threshold (gate)

  Balls(int64_t rows, int64_t k_, const double* r, double scale, bool exact, bool strict) : k(k_), radii(r) {
    th.resize(static_cast<size_t>(rows * k));
    reach.assign(static_cast<size_t>(rows), kNever);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < k; ++c) {
        th[i * k + c] = radius_thresholds(r[i * k + c], scale, exact, strict);
        reach[i] = std::max(reach[i], th[i * k + c].outside);
      }
  }
};

// Lazily evaluated oracle distance of one pair.
struct PairDistance {
  const MatrixView& a;
  const MatrixView& b;
  int64_t i, j;
  int64_t& rechecks;
  double d = -1.0;
  double get() {
    if (d < 0.0) {
      d = std::sqrt(oracle_d2(a, i, b, j));
      ++rechecks;
    }
    return d;
  }
};

// Membership of one point in the balls of one centre; updates the point's and the centre's state.
inline void member(const Balls& balls, int64_t centre, int64_t point, float lo, float hi, bool strict, PairDistance& pd,
                   int64_t* count, double* min_radius, int64_t* centre_count) {
  const int64_t k = balls.k;
  for (int64_t c = 0; c < k; ++c) {
    const RadiusThresholds t = balls.th[centre * k + c];
    const double r = balls.radii[centre * k + c];
    bool inside;
    if (hi < t.inside) {
      inside = true;
    } else if (lo > t.outside) {
      inside = false;
    } else {
      const double d = pd.get();
      inside = strict ? d < r : d <= r;
    }
    if (inside) {
      ++count[point * k + c];
      double& m = min_radius[point * k + c];
      m = std::min(m, r);
      ++centre_count[centre * k + c];
    }
  }
}

// Exact realism ratio for radius r and oracle d^2: r / d (eps < 0, metrics.md section 3) or
// r^2 / (d^2 + eps) (eps >= 0, the improved-P&R code form). A zero denominator gives +inf, or 1
// when r = 0 too (the point lies on the ball).
inline double realism_ratio(double r, double d2, double eps) {
  const double num = eps < 0.0 ? r : r * r;
  const double den = eps < 0.0 ? std::sqrt(d2) : d2 + eps;
  if (den > 0.0) return num / den;
  return r > 0.0 ? std::numeric_limits<double>::infinity() : 1.0;
}

// Realism: per point (row of B) and column, the largest r_i / d(b, a_i) over kept balls. Kept in a
// top-1 collector keyed by -ratio, with bounds from the d^2 bounds; the winner is exact after the
// float64 recheck of the surviving candidates.
struct Realism {
  int64_t k = 0;
  const double* radii = nullptr;
  std::vector<double> scaled;  // rows(A) x k: r * scale, negative = pruned
  std::vector<double> rmax;    // per column: largest kept scaled radius
  TopkCollector top;           // rows(B) * k rows, k = 1

  double eps = -1.0;    // form, see realism_ratio (original units)
  double eps_s = -1.0;  // eps in the scaled domain
  const MatrixView& a;
  const MatrixView& b;

  Realism(const MatrixView& a_, const MatrixView& b_, int64_t k_, const double* r, double scale, double eps_)
      : k(k_),
        radii(r),
        top(b_.rows * k_, k_ ? 1 : 0),
        eps(eps_),
        eps_s(eps_ < 0.0 ? -1.0 : eps_ * scale * scale),
        a(a_),
        b(b_) {
    const int64_t rows_a = a.rows;
    scaled.resize(static_cast<size_t>(rows_a * k));
    rmax.assign(static_cast<size_t>(k), -1.0);
    for (int64_t i = 0; i < rows_a; ++i)
      for (int64_t c = 0; c < k; ++c) {
        const double v = r[i * k + c];
        scaled[i * k + c] = v < 0.0 ? -1.0 : v * scale;
        if (v >= 0.0) rmax[c] = std::max(rmax[c], v * scale);
      }
  }

  // Gate on the pair's d^2 lower bound: pairs above it cannot raise any realism of point j.
  float reach(int64_t j) const {
    float g = kNever;
    for (int64_t c = 0; c < k; ++c) {
      if (rmax[c] < 0.0) continue;
      const float t = top.threshold(j * k + c);  // = -(best lower bound of the ratio so far)
      if (!(t < 0.0f)) return kAlways;           // no positive lower bound yet
      const double best = -static_cast<double>(t);
      // ratio <= rmax / sqrt(lo)  or  rmax^2 / (lo + eps): it can reach `best` only below this.
      const double q = eps_s < 0.0 ? (rmax[c] / best) * (rmax[c] / best) * (1.0 + 1e-6)
                                   : rmax[c] * rmax[c] / best * (1.0 + 1e-6) - eps_s * (1.0 - 1e-6);
      g = std::max(g, std::nextafter(static_cast<float>(q), kAlways));
    }
    return g;
  }

  // The ratio at scaled d^2 = q, in the scaled domain.
  double bound(double rs, double q) const { return realism_ratio(rs, q, eps_s); }

  // Exact keys (-ratio, the same in scaled and original units) of collector row `row`.
  auto exact(int64_t row) const {
    return [this, row](const int64_t* is, int64_t n, double* out) {
      const int64_t j = row / k, c = row % k;
      oracle_d2_many(b, j, a, is, n, out);
      for (int64_t t = 0; t < n; ++t) out[t] = -realism_ratio(radii[is[t] * k + c], out[t], eps);
    };
  }

  // Offers the pair to every realism column of `point`; returns the exact evaluations spent
  // compacting rows with many near-equal ratios (e.g. zero radii).
  int64_t offer(int64_t centre, int64_t point, float lo, float hi, bool exact_mode) {
    int64_t evaluated = 0;
    for (int64_t c = 0; c < k; ++c) {
      const double rs = scaled[centre * k + c];
      if (rs < 0.0) continue;
      const double dlo = static_cast<double>(lo), dhi = static_cast<double>(hi);
      // Bounds of the ratio from the d^2 bounds (the ratio decreases with d^2).
      const double up = bound(rs, std::max(dlo, 0.0)) * (1.0 + 1e-12);
      const double down = bound(rs, std::max(dhi, 0.0)) * (1.0 - 1e-12);
      const int64_t row = point * k + c;
      const float key_lo = std::nextafter(static_cast<float>(-up), kNever);
      if (key_lo <= top.threshold(row) &&
          top.push(row, key_lo, std::nextafter(static_cast<float>(-down), kAlways), centre))
        evaluated += top.compact(row, exact_mode, exact(row), [](double key) { return key; });
    }
    return evaluated;
  }
};

}  // namespace

CrossResult cross_pass(const CrossInputs& in, const RunConfig& cfg) {
  const MatrixView& A = in.a;
  const MatrixView& B = in.b;
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&A, &B}, cfg.num_threads);
  const Prepared pa = prepare(A, frame, cfg.num_threads);
  const Prepared pb = prepare(B, frame, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(A.cols) : 0.0f;
  const float absb = cfg.exact ? error_bound_absolute(A.cols, frame.scale) : 0.0f;
  const bool strict = in.strict;

  const Balls balls_a(A.rows, in.ka, in.radii_a, frame.scale, cfg.exact, strict);
  const Balls balls_b(B.rows, in.kb, in.radii_b, frame.scale, cfg.exact, strict);
  TopkCollector top_a(A.rows, in.knn_a), top_b(B.rows, in.knn_b);
  Realism realism(A, B, in.kr, in.realism_radii, frame.scale, in.realism_eps);
  const KnnKeys keys_a{A, B, frame.scale}, keys_b{B, A, frame.scale};
  const auto to_domain = [&keys_a](double v) { return keys_a.to_domain(v); };

  CrossResult r;
  const double inf = std::numeric_limits<double>::infinity();
  r.b_count.assign(static_cast<size_t>(B.rows * in.ka), 0);
  r.b_min_radius.assign(static_cast<size_t>(B.rows * in.ka), inf);
  r.a_ball_count.assign(static_cast<size_t>(A.rows * in.ka), 0);
  r.a_count.assign(static_cast<size_t>(A.rows * in.kb), 0);
  r.a_min_radius.assign(static_cast<size_t>(A.rows * in.kb), inf);
  r.b_ball_count.assign(static_cast<size_t>(B.rows * in.kb), 0);

  // A row of A (or B) needs a pair when the pair's lower bound is at or below its gate.
  auto gate_a_of = [&](int64_t i) {
    return std::max(top_a.active() ? top_a.threshold(i) : kNever, balls_a.k ? balls_a.reach[i] : kNever);
  };
  auto gate_b_of = [&](int64_t j) {
    const float g = std::max(top_b.active() ? top_b.threshold(j) : kNever, balls_b.k ? balls_b.reach[j] : kNever);
    return realism.k ? std::max(g, realism.reach(j)) : g;
  };
  std::vector<float> gate_a(static_cast<size_t>(A.rows)), gate_b(static_cast<size_t>(B.rows));
  for (int64_t i = 0; i < A.rows; ++i) gate_a[i] = gate_a_of(i);
  for (int64_t j = 0; j < B.rows; ++j) gate_b[j] = gate_b_of(j);
  std::vector<int64_t> rechecks(static_cast<size_t>(nt), 0);

  if (A.rows && B.rows && (in.ka || in.kb || in.knn_a || in.knn_b || in.kr)) {
    run_tiles(pa, &pb, cfg, [&](const Tile& t) {
      int64_t& rc = rechecks[t.thread];
      std::vector<int32_t> hits(static_cast<size_t>(t.nj));
      const float* nb = pb.norm2.data() + t.j0;
      for (int64_t ii = 0; ii < t.ni; ++ii) {
        const int64_t i = t.i0 + ii;
        const float na = pa.norm2[i];
        const float* row = t.minus2dot + ii * t.nj;
        const int64_t nh = scan_row(row, nb, gate_b.data() + t.j0, t.nj, na, gate_a[i], coef, absb, hits.data());
        for (int64_t h = 0; h < nh; ++h) {
          const int64_t jj = hits[h], j = t.j0 + jj;
          const PairBounds bnd = pair_bounds(na, nb[jj], row[jj], coef, absb);
          const float lo = bnd.lo, hi = bnd.hi;
          const bool need_a = lo <= gate_a[i], need_b = lo <= gate_b[j];
          PairDistance pd{A, B, i, j, rc};
          if (need_a) {
            if (top_a.active() && lo <= top_a.threshold(i) && top_a.push(i, lo, hi, j))
              rc += top_a.compact(i, cfg.exact, keys_a.exact(i), to_domain);
            if (balls_a.k && lo <= balls_a.reach[i])
              member(balls_a, i, j, lo, hi, strict, pd, r.b_count.data(), r.b_min_radius.data(), r.a_ball_count.data());
            gate_a[i] = gate_a_of(i);
          }
          if (need_b) {
            if (top_b.active() && lo <= top_b.threshold(j) && top_b.push(j, lo, hi, i))
              rc += top_b.compact(j, cfg.exact, keys_b.exact(j), to_domain);
            if (balls_b.k && lo <= balls_b.reach[j])
              member(balls_b, j, i, lo, hi, strict, pd, r.a_count.data(), r.a_min_radius.data(), r.b_ball_count.data());
            if (realism.k) rc += realism.offer(i, j, lo, hi, cfg.exact);
            gate_b[j] = gate_b_of(j);
          }
        }
      }
    });
  }

  int64_t total = 0;
  for (int64_t v : rechecks) total += v;
  r.a_knn_dist.resize(static_cast<size_t>(A.rows * in.knn_a));
  r.a_knn_idx.resize(static_cast<size_t>(A.rows * in.knn_a));
  r.b_knn_dist.resize(static_cast<size_t>(B.rows * in.knn_b));
  r.b_knn_idx.resize(static_cast<size_t>(B.rows * in.knn_b));
  r.b_realism.resize(static_cast<size_t>(B.rows * in.kr));
  r.b_realism_idx.resize(static_cast<size_t>(B.rows * in.kr));
  const bool exact = cfg.exact;
#pragma omp parallel num_threads(nt) reduction(+ : total)
  {
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t i = 0; i < A.rows * (in.knn_a > 0); ++i) {
      double* key = r.a_knn_dist.data() + i * in.knn_a;
      total += top_a.finalize(i, exact, keys_a.exact(i), key, r.a_knn_idx.data() + i * in.knn_a);
      keys_to_distances(key, in.knn_a, exact, frame.scale);
    }
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t j = 0; j < B.rows * (in.knn_b > 0); ++j) {
      double* key = r.b_knn_dist.data() + j * in.knn_b;
      total += top_b.finalize(j, exact, keys_b.exact(j), key, r.b_knn_idx.data() + j * in.knn_b);
      keys_to_distances(key, in.knn_b, exact, frame.scale);
    }
#pragma omp for schedule(dynamic, 64)
    for (int64_t row = 0; row < B.rows * in.kr; ++row) {
      double key;
      int64_t idx;
      total += realism.top.finalize(row, exact, realism.exact(row), &key, &idx);
      r.b_realism[row] = idx < 0 ? std::numeric_limits<double>::quiet_NaN() : -key;
      r.b_realism_idx[row] = idx;
    }
  }
  r.n_rechecked = total;
  return r;
}

}  // namespace fastprdc
