// Tiles as minigrid/core/grid.py's render_tile draws them, with the arithmetic of
// minigrid/utils/rendering.py:
// * fill_coords tests pixel centres ((x + 0.5) / size, float64) of a 3x supersampled tile;
// * point_in_rect/circle and rotate_fn are Python float64 expressions;
// * point_in_triangle and point_in_line keep their vertices in float32 numpy arrays: float32
//   differences, dot products and norms of float32 vectors (numpy's sdot rounds each product
//   and the sum to float32), float64 where a float64 point enters. numpy's float64 dot of two
//   2-vectors is OpenBLAS's ddot, fma(a1, b1, a0 * b0) on CPUs with FMA: Ddot below;
// * colours assigned to the uint8 image truncate (COLORS / 2, 0.45 * colour);
// * highlight_img blends in float64 then truncates; downsample takes float64 means over x,
//   then over y, and Grid.render truncates them to uint8.
// This file is compiled with -ffp-contract=off (CMakeLists.txt): every other product and
// sum must round as numpy's do.
#include "env/render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "env/view.h"

namespace bidir {

namespace {

constexpr int kSubdivs = 3;
constexpr double kPi = 3.141592653589793;  // math.pi

struct Rgb {
  uint8_t r, g, b;
};

// numpy's unsafe cast of an in-range float to uint8 truncates towards zero.
Rgb Truncated(double r, double g, double b) {
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

// minigrid.core.constants.COLORS, in COLOR_TO_IDX order.
constexpr Rgb kColors[kNumColors] = {{255, 0, 0},   {0, 255, 0},     {0, 0, 255},
                                     {112, 39, 195}, {255, 255, 0}, {100, 100, 100}};
constexpr Rgb kBlack = {0, 0, 0};

// numpy.dot of two float64 2-vectors (OpenBLAS ddot with FMA).
double Ddot(double a0, double a1, double b0, double b1) { return std::fma(a1, b1, a0 * b0); }
// numpy.dot of two float32 2-vectors: products and sum rounded to float32.
float Sdot(float a0, float a1, float b0, float b1) {
  const float p0 = a0 * b0;
  const float p1 = a1 * b1;
  return p0 + p1;
}

// The supersampled tile being drawn.
class Canvas {
 public:
  explicit Canvas(int size) : size_(size), px_(static_cast<size_t>(size) * size * 3, 0) {}
  int size() const { return size_; }
  uint8_t* data() { return px_.data(); }

  // fill_coords: paints the pixels whose centre satisfies fn.
  template <typename Fn>
  void Fill(const Fn& fn, Rgb c) {
    for (int y = 0; y < size_; ++y) {
      const double yf = (y + 0.5) / size_;
      for (int x = 0; x < size_; ++x) {
        const double xf = (x + 0.5) / size_;
        if (fn(xf, yf)) {
          uint8_t* p = &px_[(static_cast<size_t>(y) * size_ + x) * 3];
          p[0] = c.r;
          p[1] = c.g;
          p[2] = c.b;
        }
      }
    }
  }

 private:
  int size_;
  std::vector<uint8_t> px_;
};

struct Rect {  // point_in_rect
  double xmin, xmax, ymin, ymax;
  bool operator()(double x, double y) const {
    return x >= xmin && x <= xmax && y >= ymin && y <= ymax;
  }
};

struct Circle {  // point_in_circle
  double cx, cy, r;
  bool operator()(double x, double y) const {
    return (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
  }
};

class Triangle {  // point_in_triangle
 public:
  Triangle(double ax, double ay, double bx, double by, double cx, double cy)
      : ax_(static_cast<float>(ax)), ay_(static_cast<float>(ay)) {
    v0x_ = static_cast<float>(cx) - ax_;
    v0y_ = static_cast<float>(cy) - ay_;
    v1x_ = static_cast<float>(bx) - ax_;
    v1y_ = static_cast<float>(by) - ay_;
    dot00_ = Sdot(v0x_, v0y_, v0x_, v0y_);
    dot01_ = Sdot(v0x_, v0y_, v1x_, v1y_);
    dot11_ = Sdot(v1x_, v1y_, v1x_, v1y_);
    const float a = dot00_ * dot11_;
    const float b = dot01_ * dot01_;
    inv_denom_ = 1.0f / (a - b);
  }
  bool operator()(double x, double y) const {
    const double v2x = x - static_cast<double>(ax_);
    const double v2y = y - static_cast<double>(ay_);
    const double dot02 = Ddot(v0x_, v0y_, v2x, v2y);
    const double dot12 = Ddot(v1x_, v1y_, v2x, v2y);
    const double u = (static_cast<double>(dot11_) * dot02 - static_cast<double>(dot01_) * dot12) *
                     static_cast<double>(inv_denom_);
    const double v = (static_cast<double>(dot00_) * dot12 - static_cast<double>(dot01_) * dot02) *
                     static_cast<double>(inv_denom_);
    return u >= 0 && v >= 0 && (u + v) < 1;
  }

 private:
  float ax_, ay_, v0x_, v0y_, v1x_, v1y_, dot00_, dot01_, dot11_, inv_denom_;
};

class Line {  // point_in_line
 public:
  Line(double x0, double y0, double x1, double y1, double r)
      : p0x_(static_cast<float>(x0)),
        p0y_(static_cast<float>(y0)),
        xmin_(std::min(x0, x1) - r),
        xmax_(std::max(x0, x1) + r),
        ymin_(std::min(y0, y1) - r),
        ymax_(std::max(y0, y1) + r),
        r_(r) {
    const float dx = static_cast<float>(x1) - p0x_;
    const float dy = static_cast<float>(y1) - p0y_;
    dist_ = std::sqrt(Sdot(dx, dy, dx, dy));
    dx_ = dx / dist_;
    dy_ = dy / dist_;
  }
  bool operator()(double x, double y) const {
    if (x < xmin_ || x > xmax_ || y < ymin_ || y > ymax_) return false;
    const double pqx = x - static_cast<double>(p0x_);
    const double pqy = y - static_cast<double>(p0y_);
    double a = Ddot(pqx, pqy, dx_, dy_);
    a = std::min(std::max(a, 0.0), static_cast<double>(dist_));  // np.clip(a, 0, dist)
    const double px = static_cast<double>(p0x_) + a * static_cast<double>(dx_);
    const double py = static_cast<double>(p0y_) + a * static_cast<double>(dy_);
    const double qx = x - px;
    const double qy = y - py;
    return std::sqrt(Ddot(qx, qy, qx, qy)) <= r_;
  }

 private:
  float p0x_, p0y_;
  double xmin_, xmax_, ymin_, ymax_, r_;
  float dist_ = 0, dx_ = 0, dy_ = 0;
};

// rotate_fn: fn evaluated at (x, y) rotated by -theta about (cx, cy).
template <typename Fn>
struct Rotated {
  Fn fn;
  double cx, cy, cos_t, sin_t;  // cos(-theta), sin(-theta)
  bool operator()(double x, double y) const {
    x = x - cx;
    y = y - cy;
    const double x2 = cx + x * cos_t - y * sin_t;
    const double y2 = cy + y * cos_t + x * sin_t;
    return fn(x2, y2);
  }
};

// WorldObj.render of each object type (world_object.py).
void DrawObject(Canvas& img, int type, int color, int state) {
  const Rgb c = kColors[color];
  switch (type) {
    case kWall:
    case kGoal:
      img.Fill(Rect{0, 1, 0, 1}, c);
      break;
    case kFloor:
      img.Fill(Rect{0.031, 1, 0.031, 1}, Truncated(c.r / 2.0, c.g / 2.0, c.b / 2.0));
      break;
    case kLava: {
      img.Fill(Rect{0, 1, 0, 1}, Rgb{255, 128, 0});
      for (int i = 0; i < 3; ++i) {
        const double ylo = 0.3 + 0.2 * i;
        const double yhi = 0.4 + 0.2 * i;
        img.Fill(Line(0.1, ylo, 0.3, yhi, 0.03), kBlack);
        img.Fill(Line(0.3, yhi, 0.5, ylo, 0.03), kBlack);
        img.Fill(Line(0.5, ylo, 0.7, yhi, 0.03), kBlack);
        img.Fill(Line(0.7, yhi, 0.9, ylo, 0.03), kBlack);
      }
      break;
    }
    case kDoor:
      if (state == kDoorOpen) {
        img.Fill(Rect{0.88, 1.00, 0.00, 1.00}, c);
        img.Fill(Rect{0.92, 0.96, 0.04, 0.96}, kBlack);
      } else if (state == kDoorLocked) {
        img.Fill(Rect{0.00, 1.00, 0.00, 1.00}, c);
        img.Fill(Rect{0.06, 0.94, 0.06, 0.94}, Truncated(0.45 * c.r, 0.45 * c.g, 0.45 * c.b));
        img.Fill(Rect{0.52, 0.75, 0.50, 0.56}, c);  // key slot
      } else {
        img.Fill(Rect{0.00, 1.00, 0.00, 1.00}, c);
        img.Fill(Rect{0.04, 0.96, 0.04, 0.96}, kBlack);
        img.Fill(Rect{0.08, 0.92, 0.08, 0.92}, c);
        img.Fill(Rect{0.12, 0.88, 0.12, 0.88}, kBlack);
        img.Fill(Circle{0.75, 0.50, 0.08}, c);  // handle
      }
      break;
    case kKey:
      img.Fill(Rect{0.50, 0.63, 0.31, 0.88}, c);  // vertical quad
      img.Fill(Rect{0.38, 0.50, 0.59, 0.66}, c);  // teeth
      img.Fill(Rect{0.38, 0.50, 0.81, 0.88}, c);
      img.Fill(Circle{0.56, 0.28, 0.190}, c);  // ring
      img.Fill(Circle{0.56, 0.28, 0.064}, kBlack);
      break;
    case kBall:
      img.Fill(Circle{0.5, 0.5, 0.31}, c);
      break;
    case kBox:
      img.Fill(Rect{0.12, 0.88, 0.12, 0.88}, c);  // outline
      img.Fill(Rect{0.18, 0.82, 0.18, 0.82}, kBlack);
      img.Fill(Rect{0.16, 0.84, 0.47, 0.53}, c);  // horizontal slit
      break;
    default:  // kEmpty: nothing (TileKey rejects unseen and agent cells)
      break;
  }
}

}  // namespace

int TileKey(const Cell& cell, int agent_dir, bool highlight) {
  int type = cell.type, color = cell.color, state = cell.state;
  if (type == kEmpty) color = state = 0;
  if (type == kUnseen || type >= kAgent || color >= kNumColors || state > kDoorLocked ||
      agent_dir < -1 || agent_dir > 3) {
    throw std::invalid_argument("cannot render cell (" + std::to_string(type) + ", " +
                                std::to_string(color) + ", " + std::to_string(state) +
                                ") with agent direction " + std::to_string(agent_dir));
  }
  return (((type * kNumColors + color) * 3 + state) * 5 + (agent_dir + 1)) * 2 +
         (highlight ? 1 : 0);
}

void RenderTile(int key, int tile_size, uint8_t* out) {
  const bool highlight = key % 2 != 0;
  key /= 2;
  const int agent_dir = key % 5 - 1;
  key /= 5;
  const int state = key % 3;
  key /= 3;
  const int color = key % kNumColors;
  const int type = key / kNumColors;

  Canvas img(tile_size * kSubdivs);
  const Rgb grid_line = {100, 100, 100};
  img.Fill(Rect{0, 0.031, 0, 1}, grid_line);
  img.Fill(Rect{0, 1, 0, 0.031}, grid_line);
  DrawObject(img, type, color, state);
  if (agent_dir >= 0) {
    const double theta = 0.5 * kPi * agent_dir;
    img.Fill(Rotated<Triangle>{Triangle(0.12, 0.19, 0.87, 0.50, 0.12, 0.81), 0.5, 0.5,
                               std::cos(-theta), std::sin(-theta)},
             Rgb{255, 0, 0});
  }
  const int size = img.size();
  uint8_t* px = img.data();
  if (highlight) {  // highlight_img(img): white at alpha 0.30
    for (size_t k = 0; k < static_cast<size_t>(size) * size * 3; ++k) {
      const double v = px[k] + 0.30 * (255 - px[k]);
      px[k] = static_cast<uint8_t>(std::min(std::max(v, 0.0), 255.0));
    }
  }
  // downsample(img, 3): the mean over x, then over y, truncated by Grid.render.
  for (int ty = 0; ty < tile_size; ++ty) {
    for (int tx = 0; tx < tile_size; ++tx) {
      for (int ch = 0; ch < 3; ++ch) {
        double sum_y = 0;
        for (int dy = 0; dy < kSubdivs; ++dy) {
          const uint8_t* row = px + (static_cast<size_t>(ty * kSubdivs + dy) * size +
                                     tx * kSubdivs) * 3 + ch;
          const double sum_x = static_cast<double>(row[0]) + row[3] + row[6];
          sum_y += sum_x / kSubdivs;
        }
        out[(static_cast<size_t>(ty) * tile_size + tx) * 3 + ch] =
            static_cast<uint8_t>(sum_y / kSubdivs);
      }
    }
  }
}

void FrameTileKeys(const GridEnv& env, bool highlight, uint16_t* keys) {
  const Grid& grid = env.grid;
  const int w = grid.width();
  for (int y = 0; y < grid.height(); ++y) {
    for (int x = 0; x < w; ++x) {
      const bool agent_here = env.agent.x == x && env.agent.y == y;
      keys[y * w + x] =
          static_cast<uint16_t>(TileKey(grid.At(x, y), agent_here ? env.agent_dir : -1, false));
    }
  }
  if (!highlight) return;
  bool mask[kViewSize][kViewSize];
  VisibilityMask(env, mask);
  for (int vx = 0; vx < kViewSize; ++vx) {
    for (int vy = 0; vy < kViewSize; ++vy) {
      const Pos p = ViewToWorld(env, vx, vy);
      if (mask[vx][vy] && grid.InBounds(p.x, p.y)) keys[p.y * w + p.x] |= 1;
    }
  }
}

void BlitFrame(const TileCache& cache, const uint16_t* keys, int width, int height,
               int tile_size, uint8_t* out) {
  const size_t tile_row = static_cast<size_t>(tile_size) * 3;
  const size_t frame_row = tile_row * width;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const uint8_t* tile = cache.Tile(tile_size, keys[y * width + x]);
      uint8_t* dst = out + static_cast<size_t>(y) * tile_size * frame_row + x * tile_row;
      for (int ty = 0; ty < tile_size; ++ty) {
        std::memcpy(dst + ty * frame_row, tile + ty * tile_row, tile_row);
      }
    }
  }
}

}  // namespace bidir
