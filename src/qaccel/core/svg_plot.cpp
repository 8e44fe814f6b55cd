#include "qaccel/core/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace qaccel {
namespace {

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

std::string Num(double v) {
  char buf[32];
  if (std::fabs(v) < 1e-12) v = 0;  // no "-0" tick labels
  double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else if (a >= 100 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::vector<double> Ticks(double lo, double hi, bool log) {
  std::vector<double> t;
  if (log) {
    // Decades; with fewer than three decades in view also 2x and 5x.
    bool fine = std::log10(hi) - std::log10(lo) < 3;
    for (double p = std::floor(std::log10(lo)); p <= std::ceil(std::log10(hi)); p += 1) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !fine) continue;
        double v = m * std::pow(10.0, p);
        if (v >= lo * 0.999 && v <= hi * 1.001) t.push_back(v);
      }
    }
    if (t.size() >= 2) return t;
    t.clear();
  }
  double span = hi - lo;
  double step = std::pow(10.0, std::floor(std::log10(span / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (span / (step * m) <= 6) {
      step *= m;
      break;
    }
  }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
  return t;
}

// One panel's geometry: margins, plot area, the data range and the mapping
// of data coordinates to SVG coordinates (log10 axes where requested).
struct Panel {
  static constexpr double ml = 70, mr = 20, mt = 36, mb = 50;
  const PlotSpec& s;
  double ox, pw, ph;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;

  Panel(const PlotSpec& spec, double x_offset)
      : s(spec), ox(x_offset), pw(spec.width - ml - mr), ph(spec.height - mt - mb) {
    FitRange();
  }
  bool Plottable(const PlotSeries& se, size_t i) const {
    return !(s.log_x && se.x[i] <= 0) && !(s.log_y && se.y[i] <= 0);
  }
  // The range of the plottable points, widened when degenerate; 5% headroom on linear y.
  void FitRange() {
    for (const auto& se : s.series)
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
        if (!Plottable(se, i)) continue;
        xmin = std::min(xmin, se.x[i]);
        xmax = std::max(xmax, se.x[i]);
        ymin = std::min(ymin, se.y[i]);
        ymax = std::max(ymax, se.y[i]);
      }
    if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax == xmin) xmin -= 0.5, xmax += 0.5;
    if (ymax == ymin) ymin -= 0.5, ymax += 0.5;
    if (!s.log_y) {
      double pad = (ymax - ymin) * 0.05;
      ymin -= pad;
      ymax += pad;
    }
  }
  double X(double v) const {
    double f = s.log_x ? (std::log10(v) - std::log10(xmin)) / (std::log10(xmax) - std::log10(xmin))
                       : (v - xmin) / (xmax - xmin);
    return ox + ml + f * pw;
  }
  double Y(double v) const {
    double f = s.log_y ? (std::log10(v) - std::log10(ymin)) / (std::log10(ymax) - std::log10(ymin))
                       : (v - ymin) / (ymax - ymin);
    return mt + (1 - f) * ph;
  }
};

// Title, frame, grid lines with tick labels, and axis labels.
void RenderAxes(std::ostringstream& os, const Panel& p) {
  const PlotSpec& s = p.s;
  const double ox = p.ox, ml = Panel::ml, mt = Panel::mt, pw = p.pw, ph = p.ph;
  os << "<text x='" << ox + s.width / 2.0 << "' y='22' text-anchor='middle' font-size='15' "
     << "font-weight='bold'>" << Escape(s.title) << "</text>\n";
  os << "<rect x='" << ox + ml << "' y='" << mt << "' width='" << pw << "' height='" << ph
     << "' fill='none' stroke='#333'/>\n";
  for (double v : Ticks(p.xmin, p.xmax, s.log_x)) {
    double x = p.X(v);
    os << "<line x1='" << x << "' y1='" << mt << "' x2='" << x << "' y2='" << mt + ph
       << "' stroke='#ddd'/><text x='" << x << "' y='" << mt + ph + 16
       << "' text-anchor='middle' font-size='11'>" << Num(v) << "</text>\n";
  }
  for (double v : Ticks(p.ymin, p.ymax, s.log_y)) {
    double y = p.Y(v);
    os << "<line x1='" << ox + ml << "' y1='" << y << "' x2='" << ox + ml + pw << "' y2='" << y
       << "' stroke='#ddd'/><text x='" << ox + ml - 6 << "' y='" << y + 4
       << "' text-anchor='end' font-size='11'>" << Num(v) << "</text>\n";
  }
  os << "<text x='" << ox + ml + pw / 2 << "' y='" << s.height - 10
     << "' text-anchor='middle' font-size='13'>" << Escape(s.x_label) << "</text>\n";
  os << "<text transform='translate(" << ox + 16 << "," << mt + ph / 2
     << ") rotate(-90)' text-anchor='middle' font-size='13'>" << Escape(s.y_label) << "</text>\n";
}

// Every series (markers and/or a polyline) and its legend entry.
void RenderSeries(std::ostringstream& os, const Panel& p) {
  const PlotSpec& s = p.s;
  const double ox = p.ox, ml = Panel::ml, mt = Panel::mt, pw = p.pw;
  for (size_t k = 0; k < s.series.size(); ++k) {
    const auto& se = s.series[k];
    std::string color = se.color.empty() ? kPalette[k % 6] : se.color;
    std::ostringstream pts;
    for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
      if (!p.Plottable(se, i)) continue;
      pts << p.X(se.x[i]) << ',' << p.Y(se.y[i]) << ' ';
      if (se.markers)
        os << "<circle cx='" << p.X(se.x[i]) << "' cy='" << p.Y(se.y[i]) << "' r='2.5' fill='"
           << color << "' fill-opacity='0.7'/>\n";
    }
    if (se.line)
      os << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='" << pts.str()
         << "'/>\n";
    double ly = mt + 14 + 16.0 * static_cast<double>(k);
    if (k == 0)  // legend backdrop so curves under it stay legible
      os << "<rect x='" << ox + ml + pw - 156 << "' y='" << mt + 2 << "' width='152' height='"
         << 16.0 * static_cast<double>(s.series.size()) + 6
         << "' fill='white' fill-opacity='0.85' stroke='#bbb'/>\n";
    os << "<rect x='" << ox + ml + pw - 150 << "' y='" << ly - 9
       << "' width='12' height='10' fill='" << color << "'/><text x='" << ox + ml + pw - 132
       << "' y='" << ly << "' font-size='12'>" << Escape(se.name) << "</text>\n";
  }
}

void RenderPanel(std::ostringstream& os, const PlotSpec& s, double ox) {
  const Panel p(s, ox);
  RenderAxes(os, p);
  RenderSeries(os, p);
}

}  // namespace

std::string RenderSvgPanels(const std::vector<PlotSpec>& panels) {
  int w = 0, h = 0;
  for (const auto& p : panels) {
    w += p.width;
    h = std::max(h, p.height);
  }
  std::ostringstream os;
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
     << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
  double ox = 0;
  for (const auto& p : panels) {
    RenderPanel(os, p, ox);
    ox += p.width;
  }
  os << "</svg>\n";
  return os.str();
}

std::string RenderSvg(const PlotSpec& spec) { return RenderSvgPanels({spec}); }

}  // namespace qaccel
