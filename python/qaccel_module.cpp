// The qaccel Python module (pybind11): build/python/qaccel*.so, built by
// scripts/build; docs/interop.md. libqaccel is linked in; libtorch never is
// (training stays the separate qaccel-train program). Long calls (run, eval,
// quantize, simulate, explore) release the GIL. qaccel errors raise
// qaccel.Error (a ValueError) with the same one line as the CLI.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <sstream>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/data/dataset.h"
#include "qaccel/dse/explore.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/onnx/onnx_io.h"
#include "qaccel/quant/quantize.h"

namespace py = pybind11;
using namespace qaccel;

namespace {

// nlohmann::json -> Python objects, through the json module.
py::object ToPy(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

struct Model {
  Graph graph;
};

Graph GraphOf(const py::object& o) {
  if (py::isinstance<Model>(o)) return o.cast<const Model&>().graph;
  if (py::isinstance<py::str>(o)) return LoadModelOrZoo(o.cast<std::string>());
  throw py::type_error("expected a qaccel.Model, a model path (.qmodel, .onnx) or a zoo name");
}

py::dict Info(const Graph& g) {
  nlohmann::json j = analysis::ToJson(analysis::Analyze(g));
  j["model"] = g.name;
  j["quantized"] = g.quantized();
  j["input_shape"] = g.input_shape();
  j["input_transform"] = g.input_transform.Describe();
  j["metadata"] = g.metadata;
  return ToPy(j);
}

// Pixels from numpy: uint8 as they are; float as x = pixel * scale (pixel / 255
// for the default transform), which must lie on that grid.
std::vector<uint8_t> Pixels(const Graph& g, const py::array& images, int64_t& n) {
  const int64_t per = NumElements(g.input_shape());
  Check(images.ndim() >= 1 && images.size() > 0, "images: empty array");
  Check(
      images.size() % per == 0 && images.shape(0) > 0 && images.size() / images.shape(0) == per,
      "images: each sample must have " + std::to_string(per) + " values (input " +
          ShapeToString(g.input_shape()) + "), got an array of shape " + [&] {
            Shape s(images.shape(), images.shape() + images.ndim());
            return ShapeToString(s);
          }());
  n = images.shape(0);
  std::vector<uint8_t> px(static_cast<size_t>(images.size()));
  if (py::isinstance<py::array_t<uint8_t>>(images)) {
    auto a = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(images);
    std::copy(a.data(), a.data() + a.size(), px.begin());
    return px;
  }
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(images);
  if (!a) {
    PyErr_Clear();
    throw Error("images: must be a uint8 or float array");
  }
  const double scale = g.input_transform.scale;
  for (size_t i = 0; i < px.size(); ++i) {
    const double p = a.data()[i] / scale;
    const double r = std::round(p);
    Check(r >= 0 && r <= 255 && std::abs(p - r) < 1e-3,
          "images: float value " + std::to_string(a.data()[i]) + " is not pixel * " +
              std::to_string(scale) + " for a pixel in 0..255 (pass uint8 pixels, or pixel/255)");
    px[i] = static_cast<uint8_t>(r);
  }
  return px;
}

py::array_t<float> Run(const Graph& g, const py::array& images, int threads) {
  int64_t n = 0;
  const std::vector<uint8_t> px = Pixels(g, images, n);
  std::vector<float> out;
  int64_t classes = 0;
  {
    py::gil_scoped_release release;
    engine::Engine e(g, {threads, false});
    classes = e.num_outputs();
    out = e.Run(px.data(), n);
  }
  py::array_t<float> r({n, classes});
  std::copy(out.begin(), out.end(), r.mutable_data());
  return r;
}

py::dict EvalDict(const engine::EvalResult& r) {
  py::dict d;
  d["samples"] = r.samples;
  d["correct"] = r.correct;
  d["accuracy"] = r.accuracy;
  if (r.has_agreement) d["agreement"] = r.agreement;
  d["seconds"] = r.seconds;
  d["images_per_second"] = r.images_per_second;
  d["threads"] = r.threads;
  return d;
}

py::dict Eval(const Graph& g, const std::string& data, int64_t limit, const py::object& reference,
              int threads) {
  std::unique_ptr<Graph> ref;
  if (!reference.is_none()) ref = std::make_unique<Graph>(GraphOf(reference));
  engine::EvalResult r;
  {
    py::gil_scoped_release release;
    const data::Split split = data::LoadNamedDataset(data);
    r = engine::Evaluate(g, split.test, ref.get(), limit, {threads, false});
  }
  return EvalDict(r);
}

Graph Quantize(const Graph& g, const std::string& data, int64_t calibration,
               const std::string& observer, const std::string& scheme, uint64_t seed) {
  quant::QuantizeOptions o;
  o.calibration = calibration;
  o.observer = observer;
  o.weight_scheme = quant::ParseWeightScheme(scheme);
  o.seed = seed;
  py::gil_scoped_release release;
  const data::Split split = data::LoadNamedDataset(data);
  return quant::QuantizeGraph(g, split.train, o);
}

// An architecture: a SCALE-Sim .cfg path, or a dict of ArchConfig fields.
accel::ArchConfig Arch(const py::object& arch) {
  if (arch.is_none()) return {};
  if (py::isinstance<py::str>(arch))
    return accel::ReadScaleSimConfig(arch.cast<std::string>()).arch;
  Check(py::isinstance<py::dict>(arch), "arch: a dict or a SCALE-Sim .cfg path");
  accel::ArchConfig c;
  for (auto [k, v] : arch.cast<py::dict>()) {
    const std::string key = py::str(k);
    if (key == "rows" || key == "array_rows")
      c.array_rows = v.cast<int>();
    else if (key == "cols" || key == "array_cols")
      c.array_cols = v.cast<int>();
    else if (key == "dataflow")
      c.dataflow = accel::ParseDataflow(v.cast<std::string>());
    else if (key == "ifmap_sram_kb")
      c.ifmap_sram_kb = v.cast<double>();
    else if (key == "filter_sram_kb")
      c.filter_sram_kb = v.cast<double>();
    else if (key == "ofmap_sram_kb")
      c.ofmap_sram_kb = v.cast<double>();
    else if (key == "bandwidth" || key == "bandwidth_words_per_cycle") {
      c.bandwidth_words_per_cycle = v.cast<double>();
      c.bw_mode = accel::BandwidthMode::kUser;
    } else if (key == "bandwidth_mode") {
      const std::string m = v.cast<std::string>();
      Check(m == "calc" || m == "user", "arch: bandwidth_mode must be 'calc' or 'user'");
      c.bw_mode = m == "user" ? accel::BandwidthMode::kUser : accel::BandwidthMode::kCalc;
    } else if (key == "word_bytes")
      c.word_bytes = v.cast<int>();
    else if (key == "run_name")
      c.run_name = v.cast<std::string>();
    else
      throw Error("arch: unknown key '" + key +
                  "' (rows, cols, dataflow, ifmap_sram_kb, "
                  "filter_sram_kb, ofmap_sram_kb, bandwidth, bandwidth_mode, word_bytes)");
  }
  Check(c.array_rows >= 1 && c.array_cols >= 1, "arch: rows and cols must be >= 1");
  Check(c.word_bytes >= 1, "arch: word_bytes must be >= 1");
  return c;
}

// A workload: a Model, a model path / zoo name, a SCALE-Sim topology CSV, or
// a list of layer dicts (name, ifmap_h, ifmap_w, filter_h, filter_w,
// channels, num_filters, stride_h, stride_w).
accel::Topology Workload(const py::object& w, int64_t batch) {
  accel::TopologyOptions topt;
  topt.batch = batch;
  if (py::isinstance<py::str>(w)) {
    const std::string s = w.cast<std::string>();
    if (s.size() > 4 && s.substr(s.size() - 4) == ".csv") {
      accel::Topology t;
      t.model = s;
      t.layers = accel::ReadTopology(s, accel::TopologyFormat::kConv);
      return t;
    }
  }
  if (py::isinstance<py::list>(w)) {
    accel::Topology t;
    t.model = "topology";
    for (auto item : w.cast<py::list>()) {
      auto d = item.cast<py::dict>();
      accel::LayerSpec l;
      auto get = [&](const char* k, int64_t def) {
        return d.contains(k) ? d[k].cast<int64_t>() : def;
      };
      l.name = d.contains("name") ? d["name"].cast<std::string>()
                                  : "layer" + std::to_string(t.layers.size());
      l.ifmap_h = get("ifmap_h", 1), l.ifmap_w = get("ifmap_w", 1);
      l.filter_h = get("filter_h", 1), l.filter_w = get("filter_w", 1);
      l.channels = get("channels", 1), l.num_filters = get("num_filters", 1);
      l.stride_h = get("stride_h", 1), l.stride_w = get("stride_w", 1);
      t.layers.push_back(l);
    }
    return t;
  }
  return accel::TopologyFromGraph(GraphOf(w), topt);
}

py::object Simulate(const py::object& workload, const py::object& arch, int64_t batch) {
  const accel::Topology t = Workload(workload, batch);
  accel::ArchConfig c = Arch(arch);
  if (!py::isinstance<py::dict>(arch) || !arch.cast<py::dict>().contains("word_bytes"))
    if (t.word_bytes > 0) c.word_bytes = t.word_bytes;
  Check(!t.layers.empty(), "simulate: the workload has no layers on the array");
  std::string json;
  {
    py::gil_scoped_release release;
    json = accel::SummaryJson(c, accel::SimulateNetwork(c, t.layers), "python: qaccel.simulate");
  }
  return py::module_::import("json").attr("loads")(json);
}

// A Python dict as TOML text (tables of scalars, lists and inline tables).
void TomlValue(std::ostream& os, const py::handle& v) {
  if (py::isinstance<py::bool_>(v))
    os << (v.cast<bool>() ? "true" : "false");
  else if (py::isinstance<py::int_>(v))
    os << v.cast<long long>();
  else if (py::isinstance<py::float_>(v))
    os << py::repr(v).cast<std::string>();
  else if (py::isinstance<py::str>(v))
    os << py::repr(v).cast<std::string>();  // 'x': a TOML literal
  else if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    os << "[";
    bool first = true;
    for (auto x : v) {
      os << (first ? "" : ", ");
      TomlValue(os, x);
      first = false;
    }
    os << "]";
  } else if (py::isinstance<py::dict>(v)) {
    os << "{";
    bool first = true;
    for (auto [k, x] : v.cast<py::dict>()) {
      os << (first ? "" : ", ") << py::str(k).cast<std::string>() << " = ";
      TomlValue(os, x);
      first = false;
    }
    os << "}";
  } else {
    throw py::type_error("space: unsupported value " + py::repr(v).cast<std::string>());
  }
}

dse::DesignSpace Space(const py::object& space) {
  if (py::isinstance<py::str>(space)) return dse::LoadDesignSpace(space.cast<std::string>());
  Check(py::isinstance<py::dict>(space),
        "space: a dict (the TOML tables of docs/dse.md) or a .toml path");
  std::ostringstream os;
  for (auto [section, table] : space.cast<py::dict>()) {
    Check(py::isinstance<py::dict>(table),
          "space: '" + py::str(section).cast<std::string>() + "' must be a dict (a TOML table)");
    os << "[" << py::str(section).cast<std::string>() << "]\n";
    for (auto [k, v] : table.cast<py::dict>()) {
      os << py::str(k).cast<std::string>() << " = ";
      TomlValue(os, v);
      os << "\n";
    }
  }
  return dse::ParseDesignSpace(os.str(), "<dict>");
}

py::dict Explore(const py::object& workload, const py::object& space_obj,
                 const std::optional<std::string>& strategy, const std::optional<uint64_t>& seed,
                 int threads, int64_t batch) {
  const dse::DesignSpace space = Space(space_obj);
  const accel::Topology t = Workload(workload, batch);
  dse::ExploreOptions eo;
  eo.strategy = strategy.value_or(space.strategy);
  eo.seed = seed.value_or(space.seed);
  eo.threads = threads;
  eo.progress = false;
  eo.base.word_bytes = space.word_bytes > 0 ? space.word_bytes : std::max(1, t.word_bytes);
  eo.base.run_name = "explore";
  dse::CheckSearchSize(space, eo.strategy);
  dse::ExploreResult r;
  {
    py::gil_scoped_release release;
    r = dse::Explore(space, t.layers, eo);
  }
  py::list points;
  for (const auto& p : r.points) {
    py::dict d;
    d["rows"] = p.config.array_rows;
    d["cols"] = p.config.array_cols;
    d["dataflow"] = accel::DataflowName(p.config.dataflow);
    d["ifmap_sram_kb"] = p.config.ifmap_sram_kb;
    d["filter_sram_kb"] = p.config.filter_sram_kb;
    d["ofmap_sram_kb"] = p.config.ofmap_sram_kb;
    d["bandwidth"] = p.config.bandwidth_words_per_cycle;
    d["total_cycles"] = p.total_cycles;
    d["stall_cycles"] = p.stall_cycles;
    d["macs"] = p.macs;
    d["compute_util_pct"] = p.compute_util_pct;
    d["overall_util_pct"] = p.overall_util_pct;
    d["dram_read_bytes"] = p.dram_read_bytes;
    d["dram_write_bytes"] = p.dram_write_bytes;
    d["energy_pj"] = p.energy_pj;
    d["pes"] = p.area.pes;
    d["area_mm2"] = p.area.area_mm2;
    d["objective"] = p.objective;
    points.append(d);
  }
  py::dict out;
  out["points"] = points;
  out["best"] = r.best;
  out["pareto_cycles_pes"] = r.front_pes;
  out["pareto_cycles_energy"] = r.front_energy;
  out["space_size"] = r.space_size;
  out["strategy"] = r.strategy;
  out["objective"] = space.objective.Name();
  out["seconds"] = r.seconds;
  return out;
}

}  // namespace

PYBIND11_MODULE(qaccel, m) {
  m.doc() =
      "qaccel: quantize a CNN to a bit-exact integer model and size the systolic array "
      "that runs it (docs/interop.md)";
  m.attr("__version__") = QACCEL_VERSION;
  static py::exception<Error> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      error(e.what());
    }
  });

  py::class_<Model>(m, "Model", "A qaccel model (float or quantized Graph)")
      .def_property_readonly("name", [](const Model& x) { return x.graph.name; })
      .def_property_readonly("quantized", [](const Model& x) { return x.graph.quantized(); })
      .def_property_readonly("input_shape", [](const Model& x) { return x.graph.input_shape(); })
      .def_property_readonly("output_shape", [](const Model& x) { return x.graph.output_shape(); })
      .def_property_readonly("layers",
                             [](const Model& x) {
                               py::list l;
                               for (const auto& layer : x.graph.layers)
                                 l.append(ToPy(LayerToJson(layer)));
                               return l;
                             })
      .def(
          "save",
          [](const Model& x, const std::string& path) {
            if (onnxio::IsOnnxPath(path))
              onnxio::ExportOnnxFile(x.graph, path);
            else
              SaveModel(x.graph, path);
          },
          py::arg("path"), "Write a .qmodel (or, for a .onnx path, ONNX: float or QDQ)")
      .def("info", [](const Model& x) { return Info(x.graph); })
      .def(
          "run",
          [](const Model& x, const py::array& images, int threads) {
            return Run(x.graph, images, threads);
          },
          py::arg("images"), py::arg("threads") = 1)
      .def("__repr__", [](const Model& x) {
        return "<qaccel.Model '" + x.graph.name + "' " + ShapeToString(x.graph.input_shape()) +
               (x.graph.quantized() ? " int8" : " float") + ", " +
               std::to_string(x.graph.layers.size()) + " layers>";
      });

  m.def("zoo", &ZooModelNames, "The zoo's model names");
  m.def(
      "load", [](const std::string& spec) { return Model{LoadModelOrZoo(spec)}; }, py::arg("model"),
      "A .qmodel or .onnx file, or a zoo name");
  m.def(
      "import_onnx", [](const std::string& path) { return Model{onnxio::ImportOnnxFile(path)}; },
      py::arg("path"));
  m.def(
      "save",
      [](const Model& x, const std::string& path) {
        if (onnxio::IsOnnxPath(path))
          onnxio::ExportOnnxFile(x.graph, path);
        else
          SaveModel(x.graph, path);
      },
      py::arg("model"), py::arg("path"));
  m.def(
      "export_onnx",
      [](const py::object& model, const std::string& path) {
        onnxio::ExportOnnxFile(GraphOf(model), path);
      },
      py::arg("model"), py::arg("path"), "Float ONNX, or QDQ ONNX for a quantized model");
  m.def(
      "info", [](const py::object& model) { return Info(GraphOf(model)); }, py::arg("model"),
      "Per-layer and total parameters, MACs and bytes, as `qaccel info --json`");
  m.def(
      "quantize",
      [](const py::object& model, const std::string& data, int64_t calibration,
         const std::string& observer, const std::string& scheme, uint64_t seed) {
        return Model{Quantize(GraphOf(model), data, calibration, observer, scheme, seed)};
      },
      py::arg("model"), py::arg("data") = "mnist", py::arg("calibration") = 1000,
      py::arg("observer") = "histogram", py::arg("scheme") = "per-channel-symmetric",
      py::arg("seed") = 1, "Post-training int8 quantization, as `qaccel quantize`");
  m.def(
      "run",
      [](const py::object& model, const py::array& images, int threads) {
        return Run(GraphOf(model), images, threads);
      },
      py::arg("model"), py::arg("images"), py::arg("threads") = 1,
      "Logits [N, classes] (float32) of uint8 pixels, or of float pixel/255 values");
  m.def(
      "eval",
      [](const py::object& model, const std::string& data, int64_t limit,
         const py::object& reference,
         int threads) { return Eval(GraphOf(model), data, limit, reference, threads); },
      py::arg("model"), py::arg("data") = "mnist", py::arg("limit") = 0,
      py::arg("reference") = py::none(), py::arg("threads") = 0,
      "Test accuracy (and top-1 agreement with `reference`), as `qaccel eval`");
  m.def("simulate", &Simulate, py::arg("workload"), py::arg("arch") = py::none(),
        py::arg("batch") = 1,
        "Simulate a model (or topology CSV / list of layer dicts) on an array given as a dict "
        "(rows, cols, dataflow, ..._sram_kb, bandwidth, word_bytes) or a .cfg path: "
        "{'config', 'layers': [per-layer metrics], 'network': totals}");
  m.def("explore", &Explore, py::arg("workload"), py::arg("space"),
        py::arg("strategy") = py::none(), py::arg("seed") = py::none(), py::arg("threads") = 0,
        py::arg("batch") = 1,
        "Search the design space (a dict of docs/dse.md's TOML tables, or a .toml path): "
        "{'points': [...], 'best': index, 'pareto_cycles_pes': [...], ...}");
}
