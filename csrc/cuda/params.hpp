// Parameters of the GPU kernels: plain structs passed by value, each declared once through an
// X-macro so that the host side can export their layout (fastprdc._core.kernel_param_layout) and
// the Python driver builds them as numpy structured scalars (CuPy passes those by value; the `_cuda`
// launcher and the host emulation copy their bytes). Device pointers are carried as uint64.
#pragma once

#include "common/hd.hpp"

namespace fastprdc {
namespace gpu {

// One tile of the pass (or one chunk of rows for the per-row kernels), its per-tile-row buffers
// (the scan's hit lists and counts, the gates' parts, the pass threads' scratch) from row buf0;
// or a launch over a group of `tiles` tiles (`group`: their TileArgs in device memory, `stride`
// threads each; kernels.cuh launch_tile).
#define FASTPRDC_TILE_FIELDS(X) \
  X(uint64_t, tile)             \
  X(int64_t, i0)                \
  X(int64_t, ni)                \
  X(int64_t, j0)                \
  X(int64_t, nj)                \
  X(int32_t, diagonal)          \
  X(int32_t, tiles)             \
  X(int64_t, buf0)              \
  X(uint64_t, group)            \
  X(int64_t, stride)

// Everything the cross pass (and the self-kNN, a cross pass of a set with itself) reads and writes.
// The groups of identical rows (exact mode on data with copies; 0 otherwise): per row of A and of
// B its group id (common/cross_state.hpp OracleRows), the lists' bars (common/topk_row.hpp) and
// the presets' inputs (cpu/duplicates.hpp: copy_presets' rows and js for the lists of A
// (preset_side 0) or B (1); zero_radius_centres' pairs for realism). The deferred ball rechecks
// (kernels.cuh recheck_pairs; defer_cap 0: none): per tile row of A, the count offered and the
// tile columns of up to defer_cap pairs.
#define FASTPRDC_CROSS_FIELDS(X) \
  X(uint64_t, a_data)            \
  X(uint64_t, b_data)            \
  X(uint64_t, a_norm)            \
  X(uint64_t, b_norm)            \
  X(int64_t, n_a)                \
  X(int64_t, n_b)                \
  X(int64_t, dim)                \
  X(int32_t, a_f64)              \
  X(int32_t, b_f64)              \
  X(int32_t, exact)              \
  X(int32_t, strict)             \
  X(int32_t, self_pass)          \
  X(float, coef)                 \
  X(float, absb)                 \
  X(int32_t, pad0)               \
  X(double, frame_scale)         \
  X(int32_t, ka)                 \
  X(int32_t, kb)                 \
  X(uint64_t, radii_a)           \
  X(uint64_t, th_in_a)           \
  X(uint64_t, th_out_a)          \
  X(uint64_t, reach_a)           \
  X(uint64_t, b_count)           \
  X(uint64_t, b_min_radius)      \
  X(uint64_t, a_ball_count)      \
  X(uint64_t, radii_b)           \
  X(uint64_t, th_in_b)           \
  X(uint64_t, th_out_b)          \
  X(uint64_t, reach_b)           \
  X(uint64_t, a_count)           \
  X(uint64_t, a_min_radius)      \
  X(uint64_t, b_ball_count)      \
  X(uint64_t, ta_heap)           \
  X(uint64_t, ta_heap_size)      \
  X(uint64_t, ta_threshold)      \
  X(uint64_t, ta_cand_lo)        \
  X(uint64_t, ta_cand_j)         \
  X(uint64_t, ta_count)          \
  X(int32_t, ta_k)               \
  X(int32_t, ta_cap)             \
  X(uint64_t, tb_heap)           \
  X(uint64_t, tb_heap_size)      \
  X(uint64_t, tb_threshold)      \
  X(uint64_t, tb_cand_lo)        \
  X(uint64_t, tb_cand_j)         \
  X(uint64_t, tb_count)          \
  X(int32_t, tb_k)               \
  X(int32_t, tb_cap)             \
  X(int32_t, kr)                 \
  X(int32_t, pad1)               \
  X(uint64_t, realism_radii)     \
  X(uint64_t, realism_frame)     \
  X(uint64_t, realism_rmax)      \
  X(double, realism_eps)         \
  X(double, realism_eps_frame)   \
  X(uint64_t, tr_heap)           \
  X(uint64_t, tr_heap_size)      \
  X(uint64_t, tr_threshold)      \
  X(uint64_t, tr_cand_lo)        \
  X(uint64_t, tr_cand_j)         \
  X(uint64_t, tr_count)          \
  X(int32_t, tr_k)               \
  X(int32_t, tr_cap)             \
  X(uint64_t, scratch_key)       \
  X(uint64_t, scratch_aux)       \
  X(uint64_t, scratch_idx)       \
  X(int32_t, scratch_cap)        \
  X(int32_t, pad2)               \
  X(uint64_t, rechecks)          \
  X(uint64_t, gate_a)            \
  X(uint64_t, gate_b)            \
  X(uint64_t, hits_a)            \
  X(uint64_t, hits_b)            \
  X(uint64_t, hit_count_a)       \
  X(uint64_t, hit_count_b)       \
  X(int32_t, hit_cap)            \
  X(int32_t, pad4)               \
  X(uint64_t, out_dist)          \
  X(uint64_t, out_idx)           \
  X(int32_t, out_k)              \
  X(int32_t, pad3)               \
  X(uint64_t, a_group)           \
  X(uint64_t, b_group)           \
  X(uint64_t, ta_bar_group)      \
  X(uint64_t, ta_bar_idx)        \
  X(uint64_t, tb_bar_group)      \
  X(uint64_t, tb_bar_idx)        \
  X(uint64_t, preset_rows)       \
  X(uint64_t, preset_js)         \
  X(int32_t, preset_side)        \
  X(int32_t, pad5)               \
  X(uint64_t, gate_parts)        \
  X(int32_t, tile_gates)         \
  X(int32_t, defer_cap)          \
  X(uint64_t, defer_count)       \
  X(uint64_t, defer_j)

// Per-row preparation of one set in a frame (statistics, packing) and oracle distances.
#define FASTPRDC_ROWS_FIELDS(X) \
  X(uint64_t, data)             \
  X(int64_t, rows)              \
  X(int64_t, dim)               \
  X(int32_t, f64)               \
  X(int32_t, gemm_path)         \
  X(uint64_t, centre)           \
  X(double, scale)              \
  X(double, shrink)             \
  X(int64_t, chunk_rows)        \
  X(uint64_t, rowmax)           \
  X(uint64_t, partial)          \
  X(uint64_t, packed)           \
  X(uint64_t, packed_small)     \
  X(uint64_t, norm)             \
  X(uint64_t, other)            \
  X(int64_t, other_rows)        \
  X(int32_t, other_f64)         \
  X(int32_t, pad0)              \
  X(uint64_t, out)              \
  X(uint64_t, pairs)

#define FASTPRDC_DECLARE_FIELD(type, name) type name;

struct TileArgs {
  FASTPRDC_TILE_FIELDS(FASTPRDC_DECLARE_FIELD)
};

struct CrossParams {
  FASTPRDC_CROSS_FIELDS(FASTPRDC_DECLARE_FIELD)
};

struct RowsParams {
  FASTPRDC_ROWS_FIELDS(FASTPRDC_DECLARE_FIELD)
};

// The kernels, by name (the same list drives the nvcc entry points, NVRTC's name list, the host
// emulation and the launchers' argument checks): X(name, params type, shard). nvcc compiles each
// shard in its own translation unit (csrc/cuda/kernels_<shard>.cu), so that a build compiles them
// in parallel (the cross kernels alone take most of a single unit's minute); NVRTC compiles all
// of them in one program.
// The tile gates (kernels.cuh gate_parts): threads per row, and the deepest kNN lists they serve
// (each thread keeps that many values).
constexpr int32_t kGateSegs = 16;
constexpr int32_t kGateKMax = 32;

#define FASTPRDC_KERNELS(X)                  \
  X(gate_parts, CrossParams, scan)           \
  X(gate_merge, CrossParams, scan)           \
  X(scan_hits, CrossParams, scan)            \
  X(cross_rows, CrossParams, cross_rows)     \
  X(recheck_pairs, CrossParams, rechecks)    \
  X(cross_cols, CrossParams, cross_cols)     \
  X(finalize_a, CrossParams, finalize)       \
  X(finalize_b, CrossParams, finalize)       \
  X(finalize_realism, CrossParams, finalize) \
  X(row_stats, RowsParams, rows)             \
  X(column_sums, RowsParams, rows)           \
  X(centred_max, RowsParams, rows)           \
  X(pack_rows, RowsParams, rows)             \
  X(pairwise, RowsParams, rows)              \
  X(gather_rows, RowsParams, rows)           \
  X(hash_rows, RowsParams, rows)             \
  X(compare_rows, RowsParams, rows)          \
  X(preset_lists, CrossParams, scan)         \
  X(preset_realism, CrossParams, scan)

}  // namespace gpu
}  // namespace fastprdc
