#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/render_html_parts.hpp"

namespace preflight::reports::html {
namespace {

// The canvas of one plot, in SVG user units, and the plotting area inside its margins (the
// margins hold the title, the tick labels and the axis names).
constexpr double kCanvasWidth = 500;
constexpr double kCanvasHeight = 300;
constexpr double kMarginLeft = 62;
constexpr double kMarginRight = 14;
constexpr double kMarginTop = 30;
constexpr double kMarginBottom = 46;
constexpr double kPlotWidth = kCanvasWidth - kMarginLeft - kMarginRight;
constexpr double kPlotHeight = kCanvasHeight - kMarginTop - kMarginBottom;

// Nice linear ticks: steps of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> linear_ticks(double max, int target) {
  if (!(max > 0)) {
    return {0, 1};
  }
  const double raw = max / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double v = 0; v <= max * 1.0001 + step * 0.5 && ticks.size() < 40; v += step) {
    ticks.push_back(v);
    if (v >= max) {
      break;
    }
  }
  return ticks;
}

std::string tick_label(double value) {
  if (value == 0) {
    return "0";
  }
  if (std::fabs(value) >= 100 || value == std::floor(value)) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{:.3g}", value);
}

struct Point {
  double x = 0;  // log2(size)
  double y = 0;  // display units
  std::uint64_t size = 0;
  bool in_place = false;
  std::string verdict;  // "" when not compared
  std::string tooltip;
};

struct BandPoint {
  double x = 0;
  double expected = 0;
  double warn_lo = 0;
  double warn_hi = 0;
  double fail_lo = 0;
  double fail_hi = 0;
};

// Where data lands on the canvas: the axes' ranges (x in log2 of the size; y linear from 0, or
// in powers of ten on a log axis), the y ticks, and the mapping of a value to a coordinate.
struct Frame {
  bool log_y = false;
  double x_min = 0;
  double x_max = 0;
  double y_lo = 0;
  double y_hi = 0;
  std::vector<double> y_ticks;

  [[nodiscard]] double sx(double x) const {
    return kMarginLeft + (x - x_min) / (x_max - x_min) * kPlotWidth;
  }
  [[nodiscard]] double sy(double y) const {
    double v = y;
    if (log_y) {
      v = y > 0 ? std::log10(y) : y_lo;
    }
    v = std::clamp(v, y_lo, y_hi);
    return kMarginTop + kPlotHeight - (v - y_lo) / (y_hi - y_lo) * kPlotHeight;
  }
};

// One plot of a metric against message size: the points (out-of-place dots, in-place rings,
// failing points red), the lines through them, and the baseline's bands behind.
class Plot {
 public:
  Plot(std::string title, std::string unit, bool log_y, std::string kind, std::string series_key)
      : title_(std::move(title)),
        unit_(std::move(unit)),
        log_y_(log_y),
        kind_(std::move(kind)),
        series_key_(std::move(series_key)) {}

  void add(Point point) { points_.push_back(std::move(point)); }
  void add_band(BandPoint band) { bands_.push_back(band); }
  [[nodiscard]] bool empty() const { return points_.empty(); }

  [[nodiscard]] std::string svg() const {
    const Frame frame = frame_for_data();
    std::string out = axes(frame);
    if (!bands_.empty()) {
      out += baseline_bands(frame);
    }
    out += lines_and_points(frame);
    out += legend();
    out += "</svg>\n";
    return out;
  }

 private:
  // The axes' ranges from the points and bands, with room around them.
  [[nodiscard]] Frame frame_for_data() const {
    double x_min = std::numeric_limits<double>::max();
    double x_max = std::numeric_limits<double>::lowest();
    double y_min = std::numeric_limits<double>::max();
    double y_max = 0;
    const auto extend_x = [&](double x) {
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
    };
    const auto extend_y = [&](double y) {
      if (!log_y_ || y > 0) {
        y_min = std::min(y_min, y);
        y_max = std::max(y_max, y);
      }
    };
    for (const auto& p : points_) {
      extend_x(p.x);
      extend_y(p.y);
    }
    for (const auto& b : bands_) {
      extend_x(b.x);
      extend_y(b.fail_lo);
      extend_y(b.fail_hi);
    }
    // Half a power of two of room on each side, so the first and last points and a one-size
    // baseline band stay inside the frame.
    x_min = std::floor(x_min) - 0.5;
    x_max = std::ceil(x_max) + 0.5;
    if (x_max - x_min < 3) {
      x_min -= 1;
      x_max += 1;
    }
    double y_lo = 0;
    double y_hi = 0;
    std::vector<double> y_ticks;
    if (log_y_) {
      if (!(y_min > 0) || y_min == std::numeric_limits<double>::max()) {
        y_min = 1;
        y_max = 10;
      }
      y_lo = std::floor(std::log10(y_min));
      y_hi = std::ceil(std::log10(y_max));
      if (y_hi - y_lo < 1) {
        y_hi = y_lo + 1;
      }
      for (double e = y_lo; e <= y_hi + 1e-9; e += 1) {
        y_ticks.push_back(e);
      }
    } else {
      y_ticks = linear_ticks(y_max * 1.05, 5);
      y_lo = 0;
      y_hi = y_ticks.back();
    }
    return Frame{log_y_, x_min, x_max, y_lo, y_hi, std::move(y_ticks)};
  }

  // The opening <svg>, title, grid, tick labels, frame and axis names.
  [[nodiscard]] std::string axes(const Frame& frame) const {
    std::string out = fmt::format(
        "<svg class=\"plot\" data-plot=\"{}\" data-series=\"{}\" "
        "width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" "
        "aria-label=\"{}\">\n",
        kind_, series_key_, kCanvasWidth, kCanvasHeight, kCanvasWidth, kCanvasHeight, esc(title_));
    out += fmt::format("<text class=\"title\" x=\"{:.1f}\" y=\"18\">{}</text>\n", kMarginLeft,
                       esc(title_));
    // Grid and axes.
    for (const double t : frame.y_ticks) {
      const double y = log_y_ ? kMarginTop + kPlotHeight -
                                    (t - frame.y_lo) / (frame.y_hi - frame.y_lo) * kPlotHeight
                              : frame.sy(t);
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eaeef2\"/>\n",
          kMarginLeft, y, kMarginLeft + kPlotWidth, y);
      const std::string label = log_y_ ? tick_label(std::pow(10.0, t)) : tick_label(t);
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                         kMarginLeft - 6, y + 4, esc(label));
    }
    const int first_tick = static_cast<int>(std::ceil(frame.x_min));
    const int last_tick = static_cast<int>(std::floor(frame.x_max));
    const int step = std::max(1, (last_tick - first_tick + 9) / 9);
    for (int e = first_tick; e <= last_tick; e += step) {
      const double x = frame.sx(e);
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eaeef2\"/>\n", x,
          kMarginTop, x, kMarginTop + kPlotHeight);
      const std::string label =
          e >= 0 && e < 64 ? human_size(std::uint64_t{1} << static_cast<unsigned>(e)) : "";
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                         kMarginTop + kPlotHeight + 16, esc(label));
    }
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
        "stroke=\"#8c959f\"/>\n",
        kMarginLeft, kMarginTop, kPlotWidth, kPlotHeight);
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">message size (bytes, log2 "
        "scale)</text>\n",
        kMarginLeft + kPlotWidth / 2, kCanvasHeight - 8);
    out += fmt::format(
        "<text x=\"14\" y=\"{:.1f}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">"
        "{}</text>\n",
        kMarginTop + kPlotHeight / 2, kMarginTop + kPlotHeight / 2, esc(unit_));
    return out;
  }

  // The baseline's bands, behind the measurement: warn zone, pass band, expected line.
  [[nodiscard]] std::string baseline_bands(const Frame& frame) const {
    std::string out;
    std::vector<BandPoint> sorted = bands_;
    std::sort(sorted.begin(), sorted.end(),
              [](const BandPoint& a, const BandPoint& b) { return a.x < b.x; });
    const auto polygon = [&](auto lower, auto upper, std::string_view fill,
                             std::string_view css_class) {
      std::string path;
      const bool single = sorted.size() == 1;
      for (const auto& b : sorted) {
        if (single) {
          path += fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} ", frame.sx(b.x - 0.35),
                              frame.sy(upper(b)), frame.sx(b.x + 0.35), frame.sy(upper(b)));
        } else {
          path += fmt::format("{:.1f},{:.1f} ", frame.sx(b.x), frame.sy(upper(b)));
        }
      }
      for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
        if (single) {
          path += fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} ", frame.sx(it->x + 0.35),
                              frame.sy(lower(*it)), frame.sx(it->x - 0.35), frame.sy(lower(*it)));
        } else {
          path += fmt::format("{:.1f},{:.1f} ", frame.sx(it->x), frame.sy(lower(*it)));
        }
      }
      return fmt::format("<polygon class=\"{}\" points=\"{}\" fill=\"{}\" stroke=\"none\"/>\n",
                         css_class, path, fill);
    };
    out += polygon([](const BandPoint& b) { return b.fail_lo; },
                   [](const BandPoint& b) { return b.fail_hi; }, "#fff1c2", "band-warn");
    out += polygon([](const BandPoint& b) { return b.warn_lo; },
                   [](const BandPoint& b) { return b.warn_hi; }, "#dafbe1", "band-pass");
    std::string expected;
    for (const auto& b : sorted) {
      expected += fmt::format("{:.1f},{:.1f} ", frame.sx(b.x), frame.sy(b.expected));
    }
    if (sorted.size() > 1) {
      out += fmt::format(
          "<polyline class=\"band-expected\" points=\"{}\" fill=\"none\" stroke=\"#1a7f37\" "
          "stroke-dasharray=\"5 4\" stroke-width=\"1.2\"/>\n",
          expected);
    } else {
      const auto& b = sorted.front();
      out += fmt::format(
          "<line class=\"band-expected\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
          "stroke=\"#1a7f37\" stroke-dasharray=\"5 4\" stroke-width=\"1.2\"/>\n",
          frame.sx(b.x - 0.35), frame.sy(b.expected), frame.sx(b.x + 0.35), frame.sy(b.expected));
    }
    return out;
  }

  // Lines, then points on top.
  [[nodiscard]] std::string lines_and_points(const Frame& frame) const {
    std::string out;
    for (const bool in_place : {false, true}) {
      std::string path;
      for (const auto& p : points_) {
        if (p.in_place == in_place) {
          path += fmt::format("{:.1f},{:.1f} ", frame.sx(p.x), frame.sy(p.y));
        }
      }
      if (!path.empty()) {
        out += fmt::format(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
            "stroke-opacity=\"0.7\"/>\n",
            path, in_place ? "#d97706" : "#0969da");
      }
    }
    // In-place rings first and wider, out-of-place dots on top: equal values stay visible as a
    // dot inside a ring.
    std::vector<const Point*> order;
    for (const auto& p : points_) {
      if (p.in_place) {
        order.push_back(&p);
      }
    }
    for (const auto& p : points_) {
      if (!p.in_place) {
        order.push_back(&p);
      }
    }
    for (const Point* point : order) {
      const Point& p = *point;
      const bool failing = p.verdict == "fail" || p.verdict == "missing";
      const bool warning = p.verdict == "warn" || p.verdict == "inconclusive";
      std::string fill = p.in_place ? "none" : "#0969da";
      std::string stroke = p.in_place ? "#d97706" : "#0969da";
      double radius = p.in_place ? 4.6 : 3.4;
      if (failing) {
        fill = "#cf222e";
        stroke = "#82071e";
        radius = 5.5;
      } else if (warning) {
        stroke = "#bf8700";
        radius = 4.5;
      }
      out += fmt::format(
          "<circle class=\"pt{}{}\" data-size=\"{}\" data-series=\"{}\" data-placement=\"{}\" "
          "data-verdict=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" stroke=\"{}\" "
          "stroke-width=\"1.5\"><title>{}</title></circle>\n",
          p.in_place ? " ip" : " oop", failing ? " fail" : (warning ? " warn" : ""), p.size,
          series_key_, p.in_place ? "in_place" : "out_of_place", esc(p.verdict), frame.sx(p.x),
          frame.sy(p.y), radius, fill, stroke, esc(p.tooltip));
    }
    return out;
  }

  // What a dot, a ring and a band mean.
  [[nodiscard]] std::string legend() const {
    std::string out;
    const double lx = kMarginLeft + 10;
    const double ly = kMarginTop + 12;
    const bool any_in_place =
        std::any_of(points_.begin(), points_.end(), [](const Point& p) { return p.in_place; });
    out += fmt::format(
        "<g class=\"legend\"><circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.2\" fill=\"#0969da\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">out-of-place</text>",
        lx, ly, lx + 8, ly + 4);
    if (any_in_place) {
      out += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4.6\" fill=\"none\" stroke=\"#d97706\" "
          "stroke-width=\"1.5\"/><text x=\"{:.1f}\" y=\"{:.1f}\">in-place</text>",
          lx + 96, ly, lx + 104, ly + 4);
    }
    if (!bands_.empty()) {
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"8\" fill=\"#dafbe1\" "
          "stroke=\"#1a7f37\" stroke-width=\"0.5\"/><text x=\"{:.1f}\" y=\"{:.1f}\">baseline "
          "band</text>",
          lx + 170, ly - 4, lx + 186, ly + 4);
    }
    out += "</g>\n";
    return out;
  }

  std::string title_;
  std::string unit_;
  bool log_y_;
  std::string kind_;
  std::string series_key_;
  std::vector<Point> points_;
  std::vector<BandPoint> bands_;
};

void add_bands(Plot& plot, const Comparison* comparison, const detail::Series& series,
               std::string_view metric) {
  if (comparison == nullptr || comparison->kind != "baseline" ||
      comparison->benchmark != series.benchmark) {
    return;
  }
  for (const auto& row : comparison->rows) {
    if (row.size_bytes == 0) {
      continue;
    }
    for (const auto& m : row.metrics) {
      if (m.metric != metric) {
        continue;
      }
      BandPoint b;
      b.x = std::log2(static_cast<double>(row.size_bytes));
      const auto shown = [&](double v) { return metric_display_value(metric, std::max(0.0, v)); };
      b.expected = shown(m.expected);
      b.warn_lo = shown(m.expected - m.warn_allowance);
      b.warn_hi = shown(m.expected + m.warn_allowance);
      if (m.direction == Direction::higher) {
        b.fail_lo = shown(m.expected - m.fail_allowance);
        b.fail_hi = b.warn_hi;
      } else {
        b.fail_lo = b.warn_lo;
        b.fail_hi = shown(m.expected + m.fail_allowance);
      }
      plot.add_band(b);
    }
  }
}

}  // namespace

std::string series_plots(const Report& report, const detail::Series& series,
                         const Comparison* comparison,
                         const std::map<int, const RowOutcome*>& outcomes) {
  std::string out;
  bool any_busbw = false;
  bool any_algbw = false;
  for (const auto& line : series.lines) {
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index >= 0) {
        any_busbw = any_busbw || report.results[static_cast<std::size_t>(index)].busbw_Bps > 0;
        any_algbw = any_algbw || report.results[static_cast<std::size_t>(index)].algbw_Bps > 0;
      }
    }
  }
  const std::string bw_metric(any_busbw || !any_algbw ? kMetricBusBw : kMetricAlgBw);
  // Each metric its own names: a collective's bus bandwidth, a pair's bandwidth or latency.
  const auto first_row = [&]() -> const ResultRow& {
    const auto& line = series.lines.front();
    return report.results[static_cast<std::size_t>(line.out_of_place >= 0 ? line.out_of_place
                                                                          : line.in_place)];
  };
  detail::MetricNames names = detail::metric_names(first_row());
  if (!first_row().labels.contains("time")) {
    // A collective: the series' own choice of nccl-tests' two bandwidths.
    names.bandwidth = bw_metric == kMetricBusBw ? "bus bandwidth" : "algorithm bandwidth";
  }
  Plot bandwidth(fmt::format("{} vs size", names.bandwidth),
                 fmt::format("{} (GB/s)", names.bandwidth), false, "bw", series.key);
  Plot latency(fmt::format("{} vs size", names.time), fmt::format("{} (us, log scale)", names.time),
               true, "time", series.key);
  add_bands(bandwidth, comparison, series, bw_metric);
  add_bands(latency, comparison, series, kMetricTime);
  for (const auto& line : series.lines) {
    if (line.size_bytes == 0) {
      continue;  // no place on a log axis
    }
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index < 0) {
        continue;
      }
      const ResultRow& row = report.results[static_cast<std::size_t>(index)];
      const auto found = outcomes.find(index);
      const std::string verdict = found != outcomes.end()
                                      ? std::string(to_string(found->second->verdict))
                                      : (row.wrong_elements > 0 ? "fail" : "");
      const double bw = bw_metric == kMetricBusBw ? row.busbw_Bps : row.algbw_Bps;
      const std::string where = fmt::format("{} {}", human_size(row.size_bytes),
                                            row.in_place ? "in-place" : "out-of-place");
      if (!names.bandwidth.empty()) {
        bandwidth.add({std::log2(static_cast<double>(row.size_bytes)), bw / 1e9, row.size_bytes,
                       row.in_place, verdict,
                       fmt::format("{}: {} {:.2f} GB/s{}", where, names.bandwidth, bw / 1e9,
                                   verdict.empty() ? "" : " (" + verdict + ")")});
      }
      if (row.time_s.median > 0) {
        latency.add({std::log2(static_cast<double>(row.size_bytes)), row.time_s.median * 1e6,
                     row.size_bytes, row.in_place, verdict,
                     fmt::format("{}: {} {:.2f} us{}", where, names.time, row.time_s.median * 1e6,
                                 verdict.empty() ? "" : " (" + verdict + ")")});
      }
    }
  }
  if (!bandwidth.empty()) {
    out += bandwidth.svg();
  }
  if (!latency.empty()) {
    out += latency.svg();
  }
  return out;
}

}  // namespace preflight::reports::html
