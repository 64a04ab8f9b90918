// Bindings for BabyAI-Text descriptions of observation images.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/checks.h"
#include "env/text.h"
#include "env/view.h"

namespace bidir {

void BindText(py::module_& m) {
  m.def(
      "describe_images",
      [](const py::array& images) {
        if (images.ndim() != 4) {
          throw py::value_error("images must have shape (N, 7, 7, 3), got ndim " +
                                std::to_string(images.ndim()));
        }
        const py::ssize_t n = images.shape(0);
        CheckArray<uint8_t>(images, "images", {n, kViewSize, kViewSize, 3}, false);
        const auto* data = static_cast<const uint8_t*>(images.data());
        std::vector<std::vector<std::string>> out(static_cast<size_t>(n));
        {
          py::gil_scoped_release release;
          for (py::ssize_t i = 0; i < n; ++i) DescribeView(data + i * kImageBytes, &out[i]);
        }
        return out;
      },
      py::arg("images"),
      "BabyAI-Text sentences for each (7, 7, 3) uint8 observation image of a batch.");
}

}  // namespace bidir
