#include "cpu/knn.hpp"

#include <algorithm>
#include <cmath>

#include "common/error_bound.hpp"
#include "cpu/oracle.hpp"
#include "cpu/prepare.hpp"
#include "cpu/scan.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

void keys_to_distances(double* keys, int64_t k, bool exact, double scale) {
  if (exact) return;
  for (int64_t t = 0; t < k; ++t) keys[t] = std::sqrt(std::max(keys[t], 0.0)) / scale;
}

KnnResult knn_self(const MatrixView& x, int64_t k, const RunConfig& cfg) {
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&x}, cfg.num_threads);
  const Prepared p = prepare(x, frame, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(x.cols) : 0.0f;
  const float absb = cfg.exact ? error_bound_absolute(x.cols, frame.scale) : 0.0f;
  TopkCollector top(x.rows, k);
  const float* nrm = p.norm2.data();
  const KnnKeys keys{x, x, frame.scale};
  const auto to_domain = [&keys](double v) { return keys.to_domain(v); };
  std::vector<int64_t> rechecks(static_cast<size_t>(nt), 0);
  // Adds pair (row, other) to row's candidates, compacting the row when its list grows long.
  const auto offer = [&](int64_t row, float lo, float hi, int64_t other, int thread) {
    if (lo <= top.threshold(row) && top.push(row, lo, hi, other))
      rechecks[thread] += top.compact(row, cfg.exact, keys.exact(row), to_domain);
  };

  run_tiles(p, nullptr, cfg, [&](const Tile& t) {
    const bool diagonal = (t.i0 == t.j0);
    std::vector<int32_t> hits(static_cast<size_t>(t.nj));
    for (int64_t ii = 0; ii < t.ni; ++ii) {
      const int64_t i = t.i0 + ii;
      const int64_t first = diagonal ? ii + 1 : 0;  // each pair once, never (i, i)
      const float* row = t.minus2dot + ii * t.nj + first;
      const int64_t j0 = t.j0 + first;
      const int64_t nh = scan_row(row, nrm + j0, top.thresholds() + j0, t.nj - first, nrm[i], top.threshold(i), coef,
                                  absb, hits.data());
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t j = j0 + hits[h];
        const PairBounds pb = pair_bounds(nrm[i], nrm[j], row[hits[h]], coef, absb);
        offer(i, pb.lo, pb.hi, j, t.thread);
        offer(j, pb.lo, pb.hi, i, t.thread);
      }
    }
  });

  KnnResult r;
  r.dist.resize(static_cast<size_t>(x.rows * k));
  r.idx.resize(static_cast<size_t>(x.rows * k));
  int64_t rechecked = 0;
  for (int64_t v : rechecks) rechecked += v;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) reduction(+ : rechecked)
  for (int64_t i = 0; i < x.rows; ++i) {
    rechecked += top.finalize(i, cfg.exact, keys.exact(i), r.dist.data() + i * k, r.idx.data() + i * k);
    keys_to_distances(r.dist.data() + i * k, k, cfg.exact, frame.scale);
  }
  r.n_rechecked = rechecked;
  return r;
}

}  // namespace fastprdc
