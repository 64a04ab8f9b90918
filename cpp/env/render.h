// RGB frames of the whole grid, pixel for pixel as minigrid 3.2.0's env.render() draws them
// (MiniGridEnv.get_full_render with highlight, Grid.render, Grid.render_tile).
//
// Each cell is a tile drawn at 3x supersampling by minigrid's fill_coords shape tests, with
// its float64/float32 arithmetic reproduced (render.cc says how), then mean-downsampled and
// truncated to uint8. Tiles depend only on (object, colour, state, agent direction or none,
// highlight, tile size), so a TileCache keeps each one once, as minigrid's tile_cache does.
#ifndef BIDIR_ENV_RENDER_H_
#define BIDIR_ENV_RENDER_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "env/grid_env.h"

namespace bidir {

// minigrid has no upper limit; this one keeps a frame's size in range of int arithmetic.
inline constexpr int kMaxTileSize = 1024;

// The key of a tile: the cell (empty cells share one key), the agent's direction on it
// (0..3, or -1 when the agent is elsewhere) and whether it is highlighted.
// Throws std::invalid_argument for a cell whose type, colour or state is out of range.
int TileKey(const Cell& cell, int agent_dir, bool highlight);
inline constexpr int kNumTileKeys = kNumObjectTypes * kNumColors * 3 * 5 * 2;

// Draws the tile of `key` (tile_size x tile_size x 3 bytes, row-major) into out.
void RenderTile(int key, int tile_size, uint8_t* out);

// The tile keys of env's frame, row-major (height x width): minigrid's get_full_render, whose
// highlight marks the cells of the agent's view that it sees (view.h's visibility).
void FrameTileKeys(const GridEnv& env, bool highlight, uint16_t* keys);

// Rendered tiles, drawn on first use. Not thread-safe for Prepare; Tile is read-only.
class TileCache {
 public:
  // Draws every tile of `keys` (n keys) not drawn yet at tile_size; `parallel_for(count, fn)`
  // runs fn(k) for k in [0, count) (on a thread pool).
  template <typename ParallelFor>
  void Prepare(int tile_size, const uint16_t* keys, size_t n, ParallelFor parallel_for) {
    std::vector<std::vector<uint8_t>>& tiles = Tiles(tile_size);
    std::vector<uint8_t> wanted(kNumTileKeys, 0);
    for (size_t k = 0; k < n; ++k) wanted[keys[k]] = 1;
    std::vector<int> missing;
    for (int key = 0; key < kNumTileKeys; ++key) {
      if (wanted[key] && tiles[key].empty()) missing.push_back(key);
    }
    const size_t bytes = static_cast<size_t>(tile_size) * tile_size * 3;
    parallel_for(static_cast<int>(missing.size()), [&](int m) {
      std::vector<uint8_t> tile(bytes);  // stored only once drawn
      RenderTile(missing[m], tile_size, tile.data());
      tiles[missing[m]] = std::move(tile);
    });
  }
  // A tile drawn by Prepare.
  const uint8_t* Tile(int tile_size, int key) const { return cache_.at(tile_size)[key].data(); }

 private:
  std::vector<std::vector<uint8_t>>& Tiles(int tile_size) {
    auto& tiles = cache_[tile_size];
    if (tiles.empty()) tiles.resize(kNumTileKeys);
    return tiles;
  }
  std::map<int, std::vector<std::vector<uint8_t>>> cache_;  // tile size -> key -> pixels
};

// Copies the tiles of `keys` (height x width, from FrameTileKeys) into a frame of
// (height * tile_size, width * tile_size, 3) bytes.
void BlitFrame(const TileCache& cache, const uint16_t* keys, int width, int height,
               int tile_size, uint8_t* out);

}  // namespace bidir

#endif  // BIDIR_ENV_RENDER_H_
