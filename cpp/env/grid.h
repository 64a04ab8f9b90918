// The 2-D grid of cells, with minigrid's Grid helpers (wall_rect, horz_wall, vert_wall).
// x is the column and grows east, y is the row and grows south, as in minigrid.
#ifndef BIDIR_ENV_GRID_H_
#define BIDIR_ENV_GRID_H_

#include <vector>

#include "env/world.h"

namespace bidir {

struct Pos {
  int x = 0;
  int y = 0;
  bool operator==(const Pos& o) const { return x == o.x && y == o.y; }
  bool operator!=(const Pos& o) const { return !(*this == o); }
};

class Grid {
 public:
  Grid() = default;
  Grid(int width, int height)
      : width_(width), height_(height), cells_(static_cast<size_t>(width) * height) {}

  // Makes this an empty width x height grid, reusing the cells' storage (resets are hot).
  void Reset(int width, int height) {
    width_ = width;
    height_ = height;
    cells_.assign(static_cast<size_t>(width) * height, Cell{});
  }

  int width() const { return width_; }
  int height() const { return height_; }
  bool InBounds(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  Cell& At(int x, int y) { return cells_[static_cast<size_t>(y) * width_ + x]; }
  const Cell& At(int x, int y) const { return cells_[static_cast<size_t>(y) * width_ + x]; }
  const Cell& At(Pos p) const { return At(p.x, p.y); }
  Cell& At(Pos p) { return At(p.x, p.y); }
  void Set(int x, int y, const Cell& c) { At(x, y) = c; }
  void Clear(int x, int y) { At(x, y) = EmptyCell(); }
  std::vector<Cell>& cells() { return cells_; }
  const std::vector<Cell>& cells() const { return cells_; }

  void HorzWall(int x, int y, int length) {
    for (int i = 0; i < length; ++i) Set(x + i, y, WallCell());
  }
  void VertWall(int x, int y, int length) {
    for (int j = 0; j < length; ++j) Set(x, y + j, WallCell());
  }
  void WallRect(int x, int y, int w, int h) {
    HorzWall(x, y, w);
    HorzWall(x, y + h - 1, w);
    VertWall(x, y, h);
    VertWall(x + w - 1, y, h);
  }

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<Cell> cells_;
};

}  // namespace bidir

#endif  // BIDIR_ENV_GRID_H_
