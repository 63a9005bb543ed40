#include "cpu/prepare.hpp"

#include <algorithm>
#include <cmath>

#include "common/fp.hpp"
#include "common/oracle.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastprdc {

int resolve_threads(int requested) {
#ifdef _OPENMP
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

int threads_for(int nt, int64_t work) {
  const int64_t useful = std::max<int64_t>(1, work / kMinWorkPerThread);
  return static_cast<int>(std::min<int64_t>(std::max(nt, 1), useful));
}

namespace {

// Calls fn(row pointer) with the row typed as float or double.
template <class Fn>
void with_row(const MatrixView& m, int64_t i, Fn fn) {
  if (m.f64)
    fn(m.row<double>(i));
  else
    fn(m.row<float>(i));
}

// Fixed chunks of rows over several sets, so that reductions do not depend on the thread count.
struct Chunks {
  static constexpr int64_t kRows = kFrameChunkRows;
  struct Chunk {
    size_t set;
    int64_t i0;
  };
  const std::vector<const MatrixView*>& sets;
  std::vector<Chunk> list;
  int64_t total_rows = 0;

  explicit Chunks(const std::vector<const MatrixView*>& s) : sets(s) {
    for (size_t k = 0; k < sets.size(); ++k) {
      total_rows += sets[k]->rows;
      for (int64_t i0 = 0; i0 < sets[k]->rows; i0 += kRows) list.push_back({k, i0});
    }
  }
  int64_t size() const { return static_cast<int64_t>(list.size()); }
  // Calls fn(row pointer) for every row of chunk c.
  template <class Fn>
  void rows(int64_t c, Fn fn) const {
    const MatrixView& m = *sets[list[c].set];
    const int64_t end = std::min(m.rows, list[c].i0 + kRows);
    for (int64_t i = list[c].i0; i < end; ++i) with_row(m, i, fn);
  }
};

// Chunks whose partial sums are held at once: bounds make_frame's scratch to kBatch x cols doubles
// (the sums are still combined in chunk order, so the centre does not depend on the batching).
constexpr int64_t kBatch = 256;

}  // namespace

double frame_shrink(int e_max) { return std::ldexp(1.0, -(e_max == kZeroExponent ? 0 : std::max(e_max, 0))); }

namespace {

// Adds the chunk partial sums to the centre's running sums, in chunk order.
void add_partials(std::vector<double>& sums, const double* partial, int64_t chunks, int64_t d) {
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t t = 0; t < d; ++t) sums[t] += partial[c * d + t];
}

// The centre from the sums of every (shrunk) row.
void finish_centre(std::vector<double>& sums, int64_t total_rows, double shrink) {
  for (double& v : sums) v = v / static_cast<double>(total_rows) / shrink;
}

}  // namespace

std::vector<double> frame_centre(const double* partial, int64_t chunks, int64_t d, int64_t total_rows, double shrink) {
  std::vector<double> centre(static_cast<size_t>(d), 0.0);
  add_partials(centre, partial, chunks, d);
  finish_centre(centre, total_rows, shrink);
  return centre;
}

int frame_exponent(double maxabs) {
  if (!(maxabs > 0.0) || !std::isfinite(maxabs)) return 0;
  int e = 0;
  std::frexp(maxabs, &e);     // maxabs = m 2^e, m in [0.5, 1)
  return std::min(-e, 1000);  // clamped: subnormal data stays finite
}

Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads) {
  const int64_t d = sets.front()->cols;
  const Chunks chunks(sets);
  const int nt = threads_for(resolve_threads(num_threads), chunks.total_rows * d);
  const int64_t nc = chunks.size();
  Frame f;
  // Largest |value|: the sums below are taken on values scaled by 2^-e_max (exact), so that the
  // centre of data near the top of float64's range cannot overflow.
  double maxraw = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxraw)
  for (int64_t c = 0; c < nc; ++c)
    chunks.rows(c, [&](const auto* x) {
      for (int64_t t = 0; t < d; ++t) maxraw = std::max(maxraw, std::fabs(static_cast<double>(x[t])));
    });
  f.e_max = binary_exponent(maxraw);
  const double shrink = frame_shrink(f.e_max);
  // Row-wise sums per chunk, combined in chunk order (frame_centre's order, batch after batch): the
  // centre does not depend on the thread count.
  f.centre.assign(static_cast<size_t>(d), 0.0);
  std::vector<double> partial(static_cast<size_t>(std::min(nc, kBatch) * d));
  for (int64_t b0 = 0; b0 < nc; b0 += kBatch) {
    const int64_t nb = std::min(kBatch, nc - b0);
    std::fill(partial.begin(), partial.end(), 0.0);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nb; ++c) {
      double* acc = partial.data() + c * d;
      chunks.rows(b0 + c, [&](const auto* x) {
        for (int64_t t = 0; t < d; ++t) acc[t] += static_cast<double>(x[t]) * shrink;
      });
    }
    add_partials(f.centre, partial.data(), nb, d);
  }
  finish_centre(f.centre, chunks.total_rows, shrink);
  double maxabs = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxabs)
  for (int64_t c = 0; c < nc; ++c)
    chunks.rows(c, [&](const auto* x) {
      for (int64_t t = 0; t < d; ++t) maxabs = std::max(maxabs, std::fabs(static_cast<double>(x[t]) - f.centre[t]));
    });
  f.exp = frame_exponent(maxabs);
  f.scale = std::ldexp(1.0, f.exp);
  return f;
}

void pack_rows(const MatrixView& m, const Frame& frame, int64_t r0, int64_t n, float* out, float* norm2,
               int num_threads) {
  const int nt = threads_for(resolve_threads(num_threads), n * m.cols);
  const double s = frame.scale;
  const double* c = frame.centre.data();
  const int64_t d = m.cols;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t ii = 0; ii < n; ++ii) {
    float* o = out + ii * d;
    with_row(m, r0 + ii, [&](const auto* x) {
      if (norm2 == nullptr) {  // values only: no sequential sum, so the loop vectorises
        for (int64_t t = 0; t < d; ++t) o[t] = static_cast<float>((static_cast<double>(x[t]) - c[t]) * s);
        return;
      }
      double n2 = 0.0;
      for (int64_t t = 0; t < d; ++t) {
        const float v = static_cast<float>((static_cast<double>(x[t]) - c[t]) * s);
        o[t] = v;
        n2 += static_cast<double>(v) * static_cast<double>(v);
      }
      norm2[ii] = static_cast<float>(n2);
    });
  }
}

}  // namespace fastprdc
