// Tiled GEMM scheduler over packed panels. The rows of each set are converted to centred, scaled
// float32 (prepare.hpp) one panel at a time: a panel is a contiguous range of rows, packed when the
// sweep reaches it, so memory holds two panels (one of A, one of B), never a full copy. For every
// panel pair, every block pair (I of A, J of B) becomes one float32 tile T = -2 A_I B_J^T
// (single-threaded BLAS call), handed to a fused reduction while it is in cache. Tasks run in
// parallel (OpenMP); the reduction of a tile holds the locks of both row blocks, so per-row state
// needs no atomics. For a symmetric self pass (B == A) only I <= J is computed.
//
// The squared norms of the packed rows are computed the first time each panel is packed and kept
// (O(rows)); later packings of the panel convert values only. Panel rows are a multiple of the
// tile rows, so the tiles (their rows, shapes and values) are the same whatever the panel size;
// when a set fits in one panel the engine runs as one sweep over a whole packed copy.
#pragma once

#include <cstdint>
#include <functional>

#include "common/matrix.hpp"
#include "common/run_config.hpp"
#include "cpu/prepare.hpp"

namespace fastprdc {

struct Tile {
  int64_t i0, ni;          // rows of A
  int64_t j0, nj;          // rows of B
  const float* minus2dot;  // ni x nj, row-major, leading dimension nj
  const float* norm_a;     // ni squared norms of the packed A rows i0, ..
  const float* norm_b;     // nj squared norms of the packed B rows j0, ..
  int thread;
};

using TileReducer = std::function<void(const Tile&)>;

// Default rows per tile side.
constexpr int64_t kDefaultTileRows = 512;

// Default bytes of one packed panel (panel_rows = 0): sets up to this size as float32 are packed
// whole (one panel), larger ones in panels of at most this size.
constexpr int64_t kDefaultPanelBytes = int64_t(256) << 20;

// Rows per panel for a requested count (0 = default from kDefaultPanelBytes), before rounding
// to a multiple of the tile rows.
int64_t resolve_panel_rows(int64_t requested, int64_t cols);

// Runs every tile of a x b (b == nullptr: symmetric self pass of a), packing panels of at most
// panel_rows rows (0 = default) with `frame`. Calls cfg.progress from the calling thread about
// every 0.1 s; throws Cancelled when it returns false.
void run_tiles(const MatrixView& a, const MatrixView* b, const Frame& frame, int64_t panel_rows, const RunConfig& cfg,
               const TileReducer& reduce);

// Sets the BLAS to one thread: fastprdc parallelises over tiles.
void init_blas();

}  // namespace fastprdc
