// Identical rows, as the engines group them (cpu/duplicates.cpp on the CPU, the hash_rows and
// compare_rows kernels on the GPU): two rows are identical when they hold the same values compared as
// float64 (so -0 == +0, and a float32 row equals the float64 row of its values), i.e. exactly when
// their oracle distance is 0. A hash of the values finds the candidates; the comparison decides.
#pragma once

#include "common/fp.hpp"
#include "common/matrix.hpp"

namespace fastprdc {

FASTPRDC_HD uint64_t mix64(uint64_t h) {  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// The bits of a value as float64, +0.0 added so that -0 and +0 hash alike.
FASTPRDC_HD uint64_t value_bits(double v) { return f64_bits(v + 0.0); }

// A hash of the row's values as float64, in eight independent lanes (the mixing chain of one lane
// is long, the lanes overlap).
template <class T>
FASTPRDC_HD uint64_t row_hash(const T* x, int64_t d) {
  constexpr int kLanes = 8;
  uint64_t h[kLanes];
  for (int l = 0; l < kLanes; ++l) h[l] = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(l + 1);
  int64_t t = 0;
  for (; t + kLanes <= d; t += kLanes)
    for (int l = 0; l < kLanes; ++l) h[l] = mix64(h[l] ^ value_bits(static_cast<double>(x[t + l])));
  uint64_t r = static_cast<uint64_t>(d);
  for (; t < d; ++t) r = mix64(r ^ value_bits(static_cast<double>(x[t])));
  for (int l = 0; l < kLanes; ++l) r = mix64(r ^ h[l]);
  return r;
}

FASTPRDC_HD uint64_t row_hash(const MatrixView& m, int64_t i) {
  return m.f64 ? row_hash(m.row<double>(i), m.cols) : row_hash(m.row<float>(i), m.cols);
}

// Whether row i of a and row j of b hold the same values.
FASTPRDC_HD bool same_values(const MatrixView& a, int64_t i, const MatrixView& b, int64_t j) {
  for (int64_t t = 0; t < a.cols; ++t)
    if (!(a.at(i, t) == b.at(j, t))) return false;
  return true;
}

}  // namespace fastprdc
