#include "cpu/cross_pass.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error_bound.hpp"
#include "cpu/oracle.hpp"
#include "cpu/prepare.hpp"
#include "cpu/scan.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

namespace {

constexpr float kNever = -std::numeric_limits<float>::infinity();

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
                   int64_t* count, double* min_radius, uint8_t* covered) {
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
      covered[centre * k + c] = 1;
    }
  }
}

}  // namespace

CrossResult cross_pass(const CrossInputs& in, const RunConfig& cfg) {
  const MatrixView& A = in.a;
  const MatrixView& B = in.b;
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&A, &B}, cfg.num_threads);
  const Prepared pa = prepare(A, frame, cfg.num_threads);
  const Prepared pb = prepare(B, frame, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(A.cols) : 0.0f;
  const float absb = cfg.exact ? kErrorBoundAbsolute : 0.0f;
  const bool strict = in.strict;

  const Balls balls_a(A.rows, in.ka, in.radii_a, frame.scale, cfg.exact, strict);
  const Balls balls_b(B.rows, in.kb, in.radii_b, frame.scale, cfg.exact, strict);
  TopkCollector top_a(A.rows, in.knn_a), top_b(B.rows, in.knn_b);

  CrossResult r;
  const double inf = std::numeric_limits<double>::infinity();
  r.b_count.assign(static_cast<size_t>(B.rows * in.ka), 0);
  r.b_min_radius.assign(static_cast<size_t>(B.rows * in.ka), inf);
  r.a_covered.assign(static_cast<size_t>(A.rows * in.ka), 0);
  r.a_count.assign(static_cast<size_t>(A.rows * in.kb), 0);
  r.a_min_radius.assign(static_cast<size_t>(A.rows * in.kb), inf);
  r.b_covered.assign(static_cast<size_t>(B.rows * in.kb), 0);

  // A row (or column) needs attention when its lower bound is below this gate.
  auto gate_of = [](const TopkCollector& top, const Balls& balls, int64_t i) {
    return std::max(top.active() ? top.threshold(i) : kNever, balls.k ? balls.reach[i] : kNever);
  };
  std::vector<float> gate_a(static_cast<size_t>(A.rows)), gate_b(static_cast<size_t>(B.rows));
  for (int64_t i = 0; i < A.rows; ++i) gate_a[i] = gate_of(top_a, balls_a, i);
  for (int64_t j = 0; j < B.rows; ++j) gate_b[j] = gate_of(top_b, balls_b, j);
  std::vector<int64_t> rechecks(static_cast<size_t>(nt), 0);

  if (gate_a.size() && gate_b.size() && (in.ka || in.kb || in.knn_a || in.knn_b)) {
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
            if (top_a.active() && lo <= top_a.threshold(i)) top_a.push(i, lo, hi, j);
            if (balls_a.k && lo <= balls_a.reach[i])
              member(balls_a, i, j, lo, hi, strict, pd, r.b_count.data(), r.b_min_radius.data(), r.a_covered.data());
            gate_a[i] = gate_of(top_a, balls_a, i);
          }
          if (need_b) {
            if (top_b.active() && lo <= top_b.threshold(j)) top_b.push(j, lo, hi, i);
            if (balls_b.k && lo <= balls_b.reach[j])
              member(balls_b, j, i, lo, hi, strict, pd, r.a_count.data(), r.a_min_radius.data(), r.b_covered.data());
            gate_b[j] = gate_of(top_b, balls_b, j);
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
  if (in.knn_a) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) reduction(+ : total)
    for (int64_t i = 0; i < A.rows; ++i)
      total += top_a.finalize(
          i, cfg.exact, frame.scale,
          [&](const int64_t* js, int64_t n, double* out) { oracle_d2_many(A, i, B, js, n, out); },
          r.a_knn_dist.data() + i * in.knn_a, r.a_knn_idx.data() + i * in.knn_a);
  }
  if (in.knn_b) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) reduction(+ : total)
    for (int64_t j = 0; j < B.rows; ++j)
      total += top_b.finalize(
          j, cfg.exact, frame.scale,
          [&](const int64_t* is, int64_t n, double* out) { oracle_d2_many(B, j, A, is, n, out); },
          r.b_knn_dist.data() + j * in.knn_b, r.b_knn_idx.data() + j * in.knn_b);
  }
  r.n_rechecked = total;
  return r;
}

}  // namespace fastprdc
