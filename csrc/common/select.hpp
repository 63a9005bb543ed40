// Heaps and the selection of the k smallest (key, index) pairs, host and device, no std library.
#pragma once

#include "common/hd.hpp"

namespace fastprdc {

// Max-heap of floats: sift the element at position `pos` down / up.
FASTPRDC_HD void heap_sift_down(float* h, int32_t n, int32_t pos) {
  const float v = h[pos];
  while (true) {
    int32_t c = 2 * pos + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] > h[c]) ++c;
    if (!(h[c] > v)) break;
    h[pos] = h[c];
    pos = c;
  }
  h[pos] = v;
}

FASTPRDC_HD void heap_sift_up(float* h, int32_t pos) {
  const float v = h[pos];
  while (pos > 0) {
    const int32_t p = (pos - 1) / 2;
    if (!(v > h[p])) break;
    h[pos] = h[p];
    pos = p;
  }
  h[pos] = v;
}

FASTPRDC_HD void heap_make(float* h, int32_t n) {
  for (int32_t p = n / 2 - 1; p >= 0; --p) heap_sift_down(h, n, p);
}

// (key, index) order: by key, ties by the lower index (the oracle's tie rule).
FASTPRDC_HD bool key_less(double ka, int32_t ia, double kb, int32_t ib) { return ka < kb || (ka == kb && ia < ib); }

// Max-heap on (key, index) over parallel arrays.
FASTPRDC_HD void pair_sift_down(double* key, int32_t* idx, int32_t n, int32_t pos) {
  const double kv = key[pos];
  const int32_t iv = idx[pos];
  while (true) {
    int32_t c = 2 * pos + 1;
    if (c >= n) break;
    if (c + 1 < n && key_less(key[c], idx[c], key[c + 1], idx[c + 1])) ++c;
    if (!key_less(kv, iv, key[c], idx[c])) break;
    key[pos] = key[c];
    idx[pos] = idx[c];
    pos = c;
  }
  key[pos] = kv;
  idx[pos] = iv;
}

// Reorders key/idx[0..n) so that the first min(k, n) entries are the smallest pairs, ascending.
// Returns min(k, n). O(n log k), in place.
FASTPRDC_HD int32_t select_smallest(double* key, int32_t* idx, int32_t n, int32_t k) {
  const int32_t kk = k < n ? k : n;
  if (kk <= 0) return 0;
  for (int32_t p = kk / 2 - 1; p >= 0; --p) pair_sift_down(key, idx, kk, p);
  for (int32_t t = kk; t < n; ++t) {
    if (key_less(key[t], idx[t], key[0], idx[0])) {
      const double kt = key[t];
      const int32_t it = idx[t];
      key[t] = key[0];
      idx[t] = idx[0];
      key[0] = kt;
      idx[0] = it;
      pair_sift_down(key, idx, kk, 0);
    }
  }
  for (int32_t end = kk - 1; end > 0; --end) {  // heap sort: ascending
    const double k0 = key[0];
    const int32_t i0 = idx[0];
    key[0] = key[end];
    idx[0] = idx[end];
    key[end] = k0;
    idx[end] = i0;
    pair_sift_down(key, idx, end, 0);
  }
  return kk;
}

}  // namespace fastprdc
