// Bindings for BabyAI-Text descriptions of observation images and prompt hashes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <string_view>
#include <vector>

#include "bindings/checks.h"
#include "env/prompt_history.h"
#include "env/text.h"
#include "env/world.h"
#include "env/view.h"
#include "env/vocab.h"

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

  m.def(
      "glam_prompt",
      [](const std::string& mission, const std::vector<std::vector<std::string>>& observations,
         const std::vector<std::string>& actions) {
        std::string out;
        BuildGlamPrompt(mission, observations, actions, &out);
        return out;
      },
      py::arg("mission"), py::arg("observations"), py::arg("actions"),
      "GLAM's prompt from a mission, observations (sentence lists, oldest first) and the "
      "action strings taken after all but the last.");
  m.attr("PROMPT_ACTIONS") = kPromptActions;
  {
    py::list names;
    for (const auto& a : kActionNames) names.append(py::str(std::string(a)));
    m.attr("ACTION_NAMES") = py::tuple(names);
  }
  {
    py::list words;
    for (const auto& w : kMissionWords) words.append(py::str(std::string(w)));
    m.attr("MISSION_WORDS") = py::tuple(words);
    py::list prompt_words;
    for (const auto& w : PromptWords()) prompt_words.append(py::str(w));
    m.attr("PROMPT_WORDS") = py::tuple(prompt_words);
  }

  m.def(
      "hash_prompts",
      [](const py::object& prompts) {
        if (py::isinstance<py::str>(prompts) || !PySequence_Check(prompts.ptr())) {
          throw py::type_error("prompts must be a sequence of str, got " +
                               std::string(py::str(py::type::handle_of(prompts).attr("__name__"))));
        }
        const py::sequence seq = py::reinterpret_borrow<py::sequence>(prompts);
        const size_t n = seq.size();
        // Hold a reference to every str so their UTF-8 buffers outlive the GIL release.
        std::vector<py::object> keep(n);
        std::vector<std::string_view> texts(n);
        for (size_t i = 0; i < n; ++i) {
          keep[i] = seq[i];
          if (!PyUnicode_Check(keep[i].ptr())) {
            throw py::type_error("prompts[" + std::to_string(i) + "] must be a str, got " +
                                 std::string(py::str(py::type::handle_of(keep[i]).attr("__name__"))));
          }
          Py_ssize_t size = 0;
          const char* utf8 = PyUnicode_AsUTF8AndSize(keep[i].ptr(), &size);
          if (utf8 == nullptr) throw py::error_already_set();
          texts[i] = std::string_view(utf8, static_cast<size_t>(size));
        }
        py::array_t<uint64_t> out(static_cast<py::ssize_t>(n));
        uint64_t* d = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (size_t i = 0; i < n; ++i) d[i] = PromptHash(texts[i]);
        }
        return out;
      },
      py::arg("prompts"),
      "FNV-1a 64 hash of the UTF-8 bytes of each str, uint64 (N,): the key "
      "VecEnv.prompt_hashes gives the same prompt.");
}

}  // namespace bidir
