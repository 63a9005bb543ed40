// Tiled GEMM scheduler: every block pair (I of A, J of B) becomes one float32 tile
// T = -2 A_I B_J^T (single-threaded BLAS call), handed to a fused reduction while it is in cache.
// Tasks run in parallel (OpenMP); the reduction of a tile holds the locks of both row blocks,
// so per-row state needs no atomics. For a symmetric self pass (B == A) only I <= J is computed.
#pragma once

#include <cstdint>
#include <functional>

#include "common/run_config.hpp"
#include "cpu/prepare.hpp"

namespace fastprdc {

struct Tile {
  int64_t i0, ni;          // rows of A
  int64_t j0, nj;          // rows of B
  const float* minus2dot;  // ni x nj, row-major, leading dimension nj
  int thread;
};

using TileReducer = std::function<void(const Tile&)>;

// Default rows per tile side.
constexpr int64_t kDefaultTileRows = 512;

// Runs every tile of a x b (b == nullptr: symmetric self pass of a). Calls cfg.progress from the
// calling thread about every 0.1 s; throws Cancelled when it returns false.
void run_tiles(const Prepared& a, const Prepared* b, const RunConfig& cfg, const TileReducer& reduce);

// Sets the BLAS to one thread: fastprdc parallelises over tiles.
void init_blas();

}  // namespace fastprdc
