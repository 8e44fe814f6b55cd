// A small, dependency-free SVG chart writer for the plots the tool emits
// (training curves, Pareto fronts, design-space scatter). Line and scatter
// series on linear or log axes, titles, axis labels and a legend.
#pragma once

#include <string>
#include <vector>

namespace qaccel {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
  bool line = true;      // polyline through the points
  bool markers = false;  // a dot per point
  std::string color;     // empty = palette
};

struct PlotSpec {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  int width = 720, height = 440;
  std::vector<PlotSeries> series;
};

std::string RenderSvg(const PlotSpec& spec);
// Several panels side by side in one SVG (e.g. loss | accuracy).
std::string RenderSvgPanels(const std::vector<PlotSpec>& panels);

}  // namespace qaccel
