#include "cpu/scan.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FASTPRDC_X86 1
#endif

namespace fastprdc {

namespace {

int64_t scan_scalar(const float* m2d, const float* nb, const float* gate_j, int64_t n, float na, float gate_i,
                    float coef, float absb, int32_t* hits) {
  int64_t cnt = 0;
  for (int64_t jj = 0; jj < n; ++jj) {
    const float lo = pair_bounds(na, nb[jj], m2d[jj], coef, absb).lo;
    if (lo <= gate_i || lo <= gate_j[jj]) hits[cnt++] = static_cast<int32_t>(jj);
  }
  return cnt;
}

#ifdef FASTPRDC_X86
// Same float32 operations in the same order as pair_bounds (no FMA), eight lanes at a time.
__attribute__((target("avx2"))) int64_t scan_avx2(const float* m2d, const float* nb, const float* gate_j, int64_t n,
                                                  float na, float gate_i, float coef, float absb, int32_t* hits) {
  const __m256 vna = _mm256_set1_ps(na), vgi = _mm256_set1_ps(gate_i);
  const __m256 vcoef = _mm256_set1_ps(coef), vabs = _mm256_set1_ps(absb);
  int64_t cnt = 0, jj = 0;
  for (; jj + 8 <= n; jj += 8) {
    const __m256 s = _mm256_add_ps(vna, _mm256_loadu_ps(nb + jj));
    const __m256 e = _mm256_add_ps(s, _mm256_loadu_ps(m2d + jj));
    const __m256 b = _mm256_add_ps(_mm256_mul_ps(vcoef, s), vabs);
    const __m256 lo = _mm256_sub_ps(e, b);
    const __m256 hit =
        _mm256_or_ps(_mm256_cmp_ps(lo, vgi, _CMP_LE_OQ), _mm256_cmp_ps(lo, _mm256_loadu_ps(gate_j + jj), _CMP_LE_OQ));
    unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(hit));
    while (mask) {
      hits[cnt++] = static_cast<int32_t>(jj + __builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
  const int64_t rest = scan_scalar(m2d + jj, nb + jj, gate_j + jj, n - jj, na, gate_i, coef, absb, hits + cnt);
  for (int64_t t = cnt; t < cnt + rest; ++t) hits[t] += static_cast<int32_t>(jj);
  return cnt + rest;
}

const bool kHasAvx2 = __builtin_cpu_supports("avx2");
#endif

}  // namespace

int64_t scan_row(const float* m2d, const float* nb, const float* gate_j, int64_t n, float na, float gate_i, float coef,
                 float absb, int32_t* hits) {
#ifdef FASTPRDC_X86
  if (kHasAvx2) return scan_avx2(m2d, nb, gate_j, n, na, gate_i, coef, absb, hits);
#endif
  return scan_scalar(m2d, nb, gate_j, n, na, gate_i, coef, absb, hits);
}

}  // namespace fastprdc
