// HTML: one self-contained file a person opens from a CI artifact or a mail. Inline CSS and SVG
// only — no scripts, no fonts or images from the network — so it renders the same offline,
// behind a proxy, and in viewers that block scripts.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/text.hpp"
#include "preflight/build_config.hpp"
#include "reports/format.hpp"
#include "reports/render.hpp"
#include "reports/render_series.hpp"

namespace preflight::reports {

namespace {

constexpr std::string_view kStyle = R"CSS(
:root { --pass:#1a7f37; --warn:#9a6700; --fail:#cf222e; --skip:#6e7781; --error:#8250df;
        --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --panel:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
       Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
header { display: flex; align-items: center; gap: 14px; flex-wrap: wrap;
         border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 22px; margin: 0; font-weight: 600; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
.summary { color: var(--muted); margin: 8px 0 0; width: 100%; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600;
         font-size: 12px; letter-spacing: .04em; color: #fff; background: var(--skip); }
.badge.pass, .badge.improved { background: var(--pass); }
.badge.warn, .badge.inconclusive { background: var(--warn); }
.badge.fail, .badge.missing { background: var(--fail); }
.badge.error, .badge.timeout, .badge.usage { background: var(--error); }
.badge.skip { background: var(--skip); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 24px;
         margin: 14px 0 0; }
.facts div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plot, .heatmap { border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg text.cellpct { fill: #1f2328; font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { background: #ffebe9; }
tr.warnrow td { background: #fff8c5; }
.scroll { overflow-x: auto; }
.notes { color: var(--muted); margin: 4px 0 8px 18px; padding: 0; }
.remediation { color: var(--muted); font-style: italic; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px;
      overflow: auto; max-height: 480px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #59636e; }
svg .title { font-size: 13px; font-weight: 600; fill: #1f2328; }
)CSS";

std::string esc(std::string_view text) {
  return xml_escape(text);
}

std::string badge(std::string_view status) {
  return fmt::format("<span class=\"badge {}\">{}</span>", esc(status), esc(to_upper(status)));
}

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

class Plot {
 public:
  static constexpr double kWidth = 500;
  static constexpr double kHeight = 300;
  static constexpr double kLeft = 62;
  static constexpr double kRight = 14;
  static constexpr double kTop = 30;
  static constexpr double kBottom = 46;

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
    const double plot_w = kWidth - kLeft - kRight;
    const double plot_h = kHeight - kTop - kBottom;
    const auto sx = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
    const auto sy = [&](double y) {
      double v = y;
      if (log_y_) {
        v = y > 0 ? std::log10(y) : y_lo;
      }
      v = std::clamp(v, y_lo, y_hi);
      return kTop + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h;
    };

    std::string out = fmt::format(
        "<svg class=\"plot\" data-plot=\"{}\" data-series=\"{}\" "
        "width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" "
        "aria-label=\"{}\">\n",
        kind_, series_key_, kWidth, kHeight, kWidth, kHeight, esc(title_));
    out +=
        fmt::format("<text class=\"title\" x=\"{:.1f}\" y=\"18\">{}</text>\n", kLeft, esc(title_));
    // Grid and axes.
    for (const double t : y_ticks) {
      const double y = log_y_ ? kTop + plot_h - (t - y_lo) / (y_hi - y_lo) * plot_h : sy(t);
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eaeef2\"/>\n",
          kLeft, y, kLeft + plot_w, y);
      const std::string label = log_y_ ? tick_label(std::pow(10.0, t)) : tick_label(t);
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                         kLeft - 6, y + 4, esc(label));
    }
    const int first_tick = static_cast<int>(std::ceil(x_min));
    const int last_tick = static_cast<int>(std::floor(x_max));
    const int step = std::max(1, (last_tick - first_tick + 9) / 9);
    for (int e = first_tick; e <= last_tick; e += step) {
      const double x = sx(e);
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eaeef2\"/>\n", x,
          kTop, x, kTop + plot_h);
      const std::string label =
          e >= 0 && e < 64 ? human_size(std::uint64_t{1} << static_cast<unsigned>(e)) : "";
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                         kTop + plot_h + 16, esc(label));
    }
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
        "stroke=\"#8c959f\"/>\n",
        kLeft, kTop, plot_w, plot_h);
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">message size (bytes, log2 "
        "scale)</text>\n",
        kLeft + plot_w / 2, kHeight - 8);
    out += fmt::format(
        "<text x=\"14\" y=\"{:.1f}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">"
        "{}</text>\n",
        kTop + plot_h / 2, kTop + plot_h / 2, esc(unit_));

    // The baseline's bands, behind the measurement: warn zone, pass band, expected line.
    if (!bands_.empty()) {
      std::vector<BandPoint> sorted = bands_;
      std::sort(sorted.begin(), sorted.end(),
                [](const BandPoint& a, const BandPoint& b) { return a.x < b.x; });
      const auto polygon = [&](auto lower, auto upper, std::string_view fill,
                               std::string_view css_class) {
        std::string path;
        const bool single = sorted.size() == 1;
        for (const auto& b : sorted) {
          if (single) {
            path += fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} ", sx(b.x - 0.35), sy(upper(b)),
                                sx(b.x + 0.35), sy(upper(b)));
          } else {
            path += fmt::format("{:.1f},{:.1f} ", sx(b.x), sy(upper(b)));
          }
        }
        for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
          if (single) {
            path += fmt::format("{:.1f},{:.1f} {:.1f},{:.1f} ", sx(it->x + 0.35), sy(lower(*it)),
                                sx(it->x - 0.35), sy(lower(*it)));
          } else {
            path += fmt::format("{:.1f},{:.1f} ", sx(it->x), sy(lower(*it)));
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
        expected += fmt::format("{:.1f},{:.1f} ", sx(b.x), sy(b.expected));
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
            sx(b.x - 0.35), sy(b.expected), sx(b.x + 0.35), sy(b.expected));
      }
    }

    // Lines, then points on top.
    for (const bool in_place : {false, true}) {
      std::string path;
      for (const auto& p : points_) {
        if (p.in_place == in_place) {
          path += fmt::format("{:.1f},{:.1f} ", sx(p.x), sy(p.y));
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
          series_key_, p.in_place ? "in_place" : "out_of_place", esc(p.verdict), sx(p.x), sy(p.y),
          radius, fill, stroke, esc(p.tooltip));
    }
    // Legend.
    const double lx = kLeft + 10;
    const double ly = kTop + 12;
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
    out += "</g>\n</svg>\n";
    return out;
  }

 private:
  std::string title_;
  std::string unit_;
  bool log_y_;
  std::string kind_;
  std::string series_key_;
  std::vector<Point> points_;
  std::vector<BandPoint> bands_;
};

std::string fmt_num(double value, int decimals = 2) {
  return fmt::format("{:.{}f}", value, decimals);
}

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

// A point-to-point series: its own metric names and no in-place columns.
std::string pair_results_table(const Report& report, const detail::Series& series,
                               const detail::MetricNames& names) {
  std::string out = fmt::format(
      "<div class=\"scroll\"><table class=\"results\"><thead><tr><th class=\"num\">size</th>"
      "<th class=\"num\">iterations</th><th class=\"num\">{} (us)</th>{}<th class=\"num\">"
      "wrong</th></tr></thead><tbody>\n",
      esc(names.time),
      names.bandwidth.empty()
          ? std::string()
          : fmt::format("<th class=\"num\">{} (GB/s)</th>", esc(names.bandwidth)));
  for (const auto& line : series.lines) {
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index < 0) {
        continue;
      }
      const ResultRow& r = report.results[static_cast<std::size_t>(index)];
      out += fmt::format(
          "<tr{} data-size=\"{}\"><td class=\"num\" title=\"{} B\">{}</td><td "
          "class=\"num\">{}</td><td class=\"num\">{}</td>{}<td class=\"num\">{}</td></tr>\n",
          r.wrong_elements > 0 ? " class=\"bad\"" : "", r.size_bytes, r.size_bytes,
          esc(human_size(r.size_bytes)), r.time_s.n, fmt_num(r.time_s.median * 1e6, 3),
          names.bandwidth.empty()
              ? std::string()
              : fmt::format("<td class=\"num\">{}</td>", fmt_num(r.algbw_Bps / 1e9, 3)),
          r.wrong_elements < 0 ? std::string("N/A") : std::to_string(r.wrong_elements));
    }
  }
  return out + "</tbody></table></div>\n";
}

std::string results_table(const Report& report, const detail::Series& series,
                          const std::map<int, const RowOutcome*>& outcomes) {
  {
    const auto& first = series.lines.front();
    const ResultRow& row = report.results[static_cast<std::size_t>(
        first.out_of_place >= 0 ? first.out_of_place : first.in_place)];
    if (row.labels.contains("time")) {
      return pair_results_table(report, series, detail::metric_names(row));
    }
  }
  std::string out =
      "<div class=\"scroll\"><table class=\"results\"><thead><tr><th class=\"num\">size</th><th "
      "class=\"num\">count</th>"
      "<th class=\"num\">time (us)</th><th class=\"num\">algbw (GB/s)</th>"
      "<th class=\"num\">busbw (GB/s)</th><th class=\"num\">#wrong</th>"
      "<th class=\"num\">in-place time (us)</th><th class=\"num\">in-place busbw (GB/s)</th>"
      "<th class=\"num\">in-place #wrong</th><th>baseline</th></tr></thead><tbody>\n";
  const auto cells = [&](int index, bool full) {
    if (index < 0) {
      return std::string(full ? "<td class=\"num\">-</td><td class=\"num\">-</td><td "
                                "class=\"num\">-</td><td class=\"num\">-</td>"
                              : "<td class=\"num\">-</td><td class=\"num\">-</td><td "
                                "class=\"num\">-</td>");
    }
    const ResultRow& r = report.results[static_cast<std::size_t>(index)];
    const std::string wrong =
        r.wrong_elements < 0 ? std::string("N/A") : std::to_string(r.wrong_elements);
    if (full) {
      return fmt::format(
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
          "class=\"num\">{}</td>",
          fmt_num(r.time_s.median * 1e6), fmt_num(r.algbw_Bps / 1e9), fmt_num(r.busbw_Bps / 1e9),
          wrong);
    }
    return fmt::format(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        fmt_num(r.time_s.median * 1e6), fmt_num(r.busbw_Bps / 1e9), wrong);
  };
  for (const auto& line : series.lines) {
    const int any = line.out_of_place >= 0 ? line.out_of_place : line.in_place;
    const ResultRow& row = report.results[static_cast<std::size_t>(any)];
    const RowOutcome* outcome = nullptr;
    for (const int index : {line.out_of_place, line.in_place}) {
      const auto found = outcomes.find(index);
      if (index >= 0 && found != outcomes.end()) {
        outcome = found->second;
      }
    }
    std::string row_class;
    bool wrong = false;
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index >= 0 && report.results[static_cast<std::size_t>(index)].wrong_elements > 0) {
        wrong = true;
      }
    }
    if (wrong || (outcome != nullptr && detail::is_failing(outcome->verdict))) {
      row_class = " class=\"bad\"";
    } else if (outcome != nullptr && (outcome->verdict == RowVerdict::warn ||
                                      outcome->verdict == RowVerdict::inconclusive)) {
      row_class = " class=\"warnrow\"";
    }
    out += fmt::format(
        "<tr{} data-size=\"{}\"><td class=\"num\" title=\"{} B\">{}</td><td "
        "class=\"num\">{}</td>{}{}"
        "<td>{}</td></tr>\n",
        row_class, line.size_bytes, line.size_bytes, esc(human_size(line.size_bytes)), row.count,
        cells(line.out_of_place, true), cells(line.in_place, false),
        // The reason is a tooltip here; the comparison table below spells it out.
        outcome == nullptr ? std::string()
                           : fmt::format("<span title=\"{}\">{}</span>", esc(outcome->reason),
                                         badge(to_string(outcome->verdict))));
  }
  out += "</tbody></table></div>\n";
  return out;
}

std::string comparison_section(const Comparison& c) {
  std::string out = "<section id=\"comparison\">\n";
  if (c.kind == "diff") {
    out += fmt::format("<h2>Diff {}</h2>\n", badge(to_string(c.status)));
    out += fmt::format("<p>{}</p>\n", esc(c.subject));
  } else {
    out += fmt::format("<h2>Baseline: {} {}</h2>\n", esc(c.reference), badge(to_string(c.status)));
    out += fmt::format("<p>{}<br><span class=\"remediation\">source: {}</span></p>\n",
                       esc(c.subject), esc(c.reference_source));
  }
  out += fmt::format("<p><strong>{}</strong></p>\n", esc(c.summary));
  if (!c.matched.empty() || !c.notes.empty()) {
    out += "<ul class=\"notes\">";
    if (!c.matched.empty()) {
      out += fmt::format("<li>matched on {}</li>", esc(join(c.matched, ", ")));
    }
    for (const auto& note : c.notes) {
      out += fmt::format("<li>{}</li>", esc(note));
    }
    out += "</ul>\n";
  }
  out += "<table class=\"comparison\"><thead><tr>" +
         std::string(c.kind == "diff" ? "<th>series</th>" : "") +
         "<th class=\"num\">size</th><th>metric</th><th class=\"num\">expected</th>"
         "<th class=\"num\">measured</th><th class=\"num\">delta</th><th class=\"num\">warn / fail "
         "allowance</th><th>verdict</th></tr></thead><tbody>\n";
  for (const auto& row : c.rows) {
    for (std::size_t k = 0; k < row.metrics.size(); ++k) {
      const MetricOutcome& m = row.metrics[k];
      const std::string css =
          detail::is_failing(row.verdict) ? " class=\"bad\""
          : (row.verdict == RowVerdict::warn || row.verdict == RowVerdict::inconclusive)
              ? " class=\"warnrow\""
              : "";
      out += fmt::format(
          "<tr{}>{}<td class=\"num\" title=\"{} B\">{}</td><td>{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {}</td>"
          "<td>{}{}</td></tr>\n",
          css, c.kind == "diff" ? "<td>" + esc(row.series) + "</td>" : "", row.size_bytes,
          esc(human_size(row.size_bytes)), esc(metric_label(m.metric)),
          esc(format_metric(m.metric, m.expected)),
          m.measured ? esc(format_metric(m.metric, *m.measured)) : "-",
          m.measured ? esc(format_percent(m.delta)) : "-",
          esc(format_metric(m.metric, m.warn_allowance)),
          esc(format_metric(m.metric, m.fail_allowance)), badge(to_string(m.verdict)),
          row.within_budget && k == 0 ? " <span class=\"remediation\">within budget</span>" : "");
    }
  }
  out += "</tbody></table>\n</section>\n";
  return out;
}

// Colour of a link: its fraction of the reference, red at half or less, amber at 0.75, green
// from 0.95 up (typical links are all green; a link at half speed stands out).
std::string fraction_colour(double fraction) {
  const double t = std::clamp((fraction - 0.5) / 0.45, 0.0, 1.0);
  const double hue = 120.0 * t;
  return fmt::format("hsl({:.0f},65%,{:.0f}%)", hue, 42.0 + 8.0 * t);
}

std::string link_value(const detail::LinkGroup& group, double value) {
  return group.lower_is_better ? fmt::format("{:.2f} us", value * 1e6)
                               : fmt::format("{:.2f} GB/s", value / 1e9);
}

// One node x node heatmap (row: source, column: destination) of one test and size.
std::string link_heatmap(const detail::LinkGroup& group) {
  const std::size_t n = group.nodes.size();
  const double cell = std::clamp(560.0 / static_cast<double>(n), 14.0, 56.0);
  std::size_t longest = 4;
  for (const auto& node : group.nodes) {
    longest = std::max(longest, std::min<std::size_t>(node.size(), 18));
  }
  const double label_w = 8.0 + 7.0 * static_cast<double>(longest);
  const double left = label_w + 10;
  const double top = label_w + 30;
  const double size = cell * static_cast<double>(n);
  // Wide enough for the title and the legend line, whatever the node count.
  const double width = std::max(left + size + 20, 720.0);
  const double height = top + size + 44;
  std::map<std::pair<std::string, std::string>, const detail::LinkCell*> cells;
  for (const auto& link : group.links) {
    cells[{link.src, link.dst}] = &link;
  }
  const auto short_name = [](const std::string& node) {
    return node.size() > 18 ? node.substr(0, 17) + "\u2026" : node;
  };
  std::string out = fmt::format(
      "<svg class=\"heatmap\" data-links=\"{}\" data-nodes=\"{}\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"{}\">\n",
      group.links.size(), n, width, height, width, height,
      esc(group.metric + " node x node, " + group.title));
  out += fmt::format(
      "<text class=\"title\" x=\"10\" y=\"18\">{} \u00b7 {}: node \u00d7 node, a link in "
      "both of its cells</text>\n",
      esc(group.metric), esc(group.title));
  for (std::size_t i = 0; i < n; ++i) {
    const double y = top + cell * static_cast<double>(i) + cell / 2 + 4;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6,
                       y, esc(short_name(group.nodes[i])));
    const double x = left + cell * static_cast<double>(i) + cell / 2 + 4;
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" transform=\"rotate(-60 {:.1f} {:.1f})\">{}</text>\n", x,
        top - 6, x, top - 6, esc(short_name(group.nodes[i])));
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double x = left + cell * static_cast<double>(j);
      const double y = top + cell * static_cast<double>(i);
      if (i == j) {
        out += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#f6f8fa\" "
            "stroke=\"#ffffff\"/>\n",
            x, y, cell, cell);
        continue;
      }
      // A link measured one way only fills both of its cells, as in preflight-p2p's matrix.
      auto found = cells.find({group.nodes[i], group.nodes[j]});
      if (found == cells.end()) {
        found = cells.find({group.nodes[j], group.nodes[i]});
      }
      if (found == cells.end()) {
        out += fmt::format(
            "<rect class=\"cell none\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
            "height=\"{:.1f}\" fill=\"#d0d7de\" stroke=\"#ffffff\"><title>{} \u2192 {}: not "
            "measured</title></rect>\n",
            x, y, cell, cell, esc(group.nodes[i]), esc(group.nodes[j]));
        continue;
      }
      const detail::LinkCell& link = *found->second;
      out += fmt::format(
          "<rect class=\"cell\" data-src=\"{}\" data-dst=\"{}\" data-fraction=\"{:.3f}\" "
          "x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "stroke=\"#ffffff\"><title>{} \u2192 {}: {} ({:.0f}% of the reference {})</title>"
          "</rect>\n",
          esc(link.src), esc(link.dst), link.fraction, x, y, cell, cell,
          fraction_colour(link.fraction), esc(link.src), esc(link.dst),
          esc(link_value(group, link.value)), link.fraction * 100,
          esc(link_value(group, group.reference)));
      if (cell >= 34) {
        out += fmt::format(
            "<text class=\"cellpct\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}%"
            "</text>\n",
            x + cell / 2, y + cell / 2 + 4, link.fraction * 100);
      }
    }
  }
  // Legend: the colour scale from half the reference to the reference.
  const double ly = top + size + 18;
  for (int k = 0; k <= 10; ++k) {
    const double fraction = 0.5 + 0.05 * k;
    out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"10\" fill=\"{}\"/>\n",
                       left + 14.0 * k, ly, fraction_colour(fraction));
  }
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\">50% \u2026 100% of the reference: the median link, {}"
      "{}</text>\n",
      left + 14.0 * 11 + 6, ly + 9, esc(link_value(group, group.reference)),
      group.lower_is_better ? " (latency: reference / measured)" : "");
  out += "</svg>\n";
  return out;
}

// Every measurement of every link in one table, worst link first: what the heatmap summarises.
std::string links_table(const Report& report, const detail::LinkGroup& group) {
  std::map<int, double> fraction_of_row;
  for (const auto& link : group.links) {
    fraction_of_row[link.row] = link.fraction;
  }
  std::vector<int> rows = group.rows;
  const auto fraction = [&](int index) {
    const ResultRow& row = report.results[static_cast<std::size_t>(index)];
    const double value = group.lower_is_better ? row.time_s.median : row.algbw_Bps;
    if (!(value > 0) || !(group.reference > 0)) {
      return 0.0;
    }
    return group.lower_is_better ? group.reference / value : value / group.reference;
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](int a, int b) { return fraction(a) < fraction(b); });
  std::string out = fmt::format(
      "<table class=\"links\" data-group=\"{}\"><thead><tr><th>source</th><th>destination</th>"
      "<th>{}</th><th>of the reference</th><th>best of the link</th><th>phase</th>"
      "<th>check</th></tr></thead><tbody>\n",
      group.key, esc(group.metric));
  for (const int index : rows) {
    const ResultRow& row = report.results[static_cast<std::size_t>(index)];
    const double value = group.lower_is_better ? row.time_s.median : row.algbw_Bps;
    const double f = fraction(index);
    const auto phase = row.labels.find("phase");
    const bool wrong = row.wrong_elements > 0;
    out += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td><span class=\"swatch\" "
        "style=\"background:{}\"></span> {:.0f}%</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        wrong || f < 0.75 ? " class=\"bad\"" : "", esc(row.labels.at("src")),
        esc(row.labels.at("dst")), esc(link_value(group, value)), fraction_colour(f), f * 100,
        fraction_of_row.contains(index) ? "yes" : "",
        esc(phase == row.labels.end() ? "" : phase->second),
        row.wrong_elements < 0 ? "not checked"
                               : (wrong ? fmt::format("{} wrong", row.wrong_elements) : "ok"));
  }
  out += "</tbody></table>\n";
  return out;
}

bool is_bad(Status status) {
  return status == Status::fail || status == Status::error || status == Status::timeout;
}

// The verdict's reasons, before any plot: every check that failed, broke or warned.
std::string attention_section(const Report& report) {
  std::vector<const Check*> shown;
  for (const bool bad : {true, false}) {
    for (const auto& check : report.checks) {
      if (bad ? is_bad(check.status) : check.status == Status::warn) {
        shown.push_back(&check);
      }
    }
  }
  std::string out = "<section id=\"attention\">\n<h2>Failing and warning checks</h2>\n";
  if (shown.empty()) {
    out += fmt::format("<p class=\"summary\">None: {}.</p>\n", esc(report.verdict.summary));
    return out + "</section>\n";
  }
  out +=
      "<table class=\"checks attention\"><thead><tr><th>status</th><th>id</th><th>severity</th>"
      "<th>message</th></tr></thead><tbody>\n";
  for (const Check* check : shown) {
    out += fmt::format(
        "<tr class=\"{}\" data-status=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td>"
        "<td>{}{}</td></tr>\n",
        is_bad(check->status) ? "bad" : "warnrow", esc(to_string(check->status)),
        badge(to_string(check->status)), esc(check->id), esc(to_string(check->severity)),
        esc(check->message),
        check->remediation.empty()
            ? std::string()
            : "<br><span class=\"remediation\">" + esc(check->remediation) + "</span>");
  }
  return out + "</tbody></table>\n</section>\n";
}

}  // namespace

std::string render_html(const Report& report, const Comparison* comparison) {
  const std::string status(to_string(report.verdict.status));
  std::string out;
  out.reserve(64 * 1024 + report.results.size() * 1200);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>preflight report: {} \u2014 {}</title>\n", esc(report.tool.name),
                     esc(to_upper(status)));
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<main>\n";
  out += fmt::format(
      "<header><h1>preflight report \u00b7 {}</h1>{}<p class=\"summary\">{}</p></header>\n",
      esc(report.tool.name), badge(status), esc(report.verdict.summary));

  // Facts.
  out += "<dl class=\"facts\">\n";
  const auto fact = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) {
      out += fmt::format("<div><dt>{}</dt><dd>{}</dd></div>\n", esc(name), esc(value));
    }
  };
  fact("tool", report.tool.version.empty() ? report.tool.name
                                           : report.tool.name + " " + report.tool.version);
  fact("instance type", report.inventory.instance_type);
  fact("ranks", std::to_string(report.run.ranks));
  fact("nodes", report.run.nodes > 0 ? std::to_string(report.run.nodes) : "");
  fact("hosts", report.run.hosts.size() > 4
                    ? fmt::format("{} \u2026 ({} hosts)",
                                  join(std::vector<std::string>(report.run.hosts.begin(),
                                                                report.run.hosts.begin() + 4),
                                       ", "),
                                  report.run.hosts.size())
                    : join(report.run.hosts, ", "));
  fact("started", report.run.started_at);
  fact("finished", report.run.finished_at);
  fact("run id", report.run.id);
  out += "</dl>\n";

  // First what decides the verdict, then the measurements.
  out += attention_section(report);

  // All-pairs and cluster runs: a node x node heatmap and one table per test and size, instead of
  // a plot per link.
  const auto link_groups = detail::group_links(report);
  if (!link_groups.empty()) {
    out += "<section id=\"links\">\n<h2>Links</h2>\n";
    for (const auto& group : link_groups) {
      out += fmt::format("<h3 id=\"{}\">{}</h3>\n", group.key, esc(group.title));
      out += link_heatmap(group);
      out += links_table(report, group);
    }
    out += "</section>\n";
  }

  // Results: plots and tables per series.
  const auto outcomes = detail::outcomes_by_row(comparison);
  auto series_list = detail::group_series(report);
  if (!link_groups.empty()) {
    // The links are shown above; a series of one link's rows would be a plot per link.
    std::erase_if(series_list, [&](const detail::Series& series) {
      return std::all_of(series.lines.begin(), series.lines.end(), [&](const auto& line) {
        for (const int index : {line.out_of_place, line.in_place}) {
          if (index >= 0 && !detail::is_link_row(report.results[static_cast<std::size_t>(index)])) {
            return false;
          }
        }
        return true;
      });
    });
  }
  if (!series_list.empty()) {
    out += "<section id=\"results\">\n<h2>Results</h2>\n";
  }
  for (const auto& series : series_list) {
    out += fmt::format("<h3 id=\"{}\">{}</h3>\n<div class=\"plots\">\n", series.key,
                       esc(series.title));
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
    Plot latency(fmt::format("{} vs size", names.time),
                 fmt::format("{} (us, log scale)", names.time), true, "time", series.key);
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
    out += "</div>\n";
    out += results_table(report, series, outcomes);
  }
  if (!series_list.empty()) {
    out += "</section>\n";
  }

  if (comparison != nullptr) {
    out += comparison_section(*comparison);
  }

  // Every check, in the order they ran.
  out += "<section id=\"checks\">\n<h2>All checks</h2>\n";
  out +=
      "<table class=\"checks\"><thead><tr><th>status</th><th>id</th><th>severity</th>"
      "<th>message</th></tr></thead><tbody>\n";
  for (const auto& check : report.checks) {
    const bool bad = check.status == Status::fail || check.status == Status::error ||
                     check.status == Status::timeout;
    out += fmt::format(
        "<tr{} "
        "data-status=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}{}</td></tr>\n",
        bad ? " class=\"bad\"" : (check.status == Status::warn ? " class=\"warnrow\"" : ""),
        esc(to_string(check.status)), badge(to_string(check.status)), esc(check.id),
        esc(to_string(check.severity)), esc(check.message),
        check.remediation.empty() || check.status == Status::pass || check.status == Status::skip
            ? std::string()
            : "<br><span class=\"remediation\">" + esc(check.remediation) + "</span>");
  }
  if (report.checks.empty()) {
    out += "<tr><td>" + badge("skip") + "</td><td colspan=\"3\">no checks ran</td></tr>\n";
  }
  out += "</tbody></table>\n</section>\n";

  // Inventory.
  out += "<section id=\"inventory\">\n<h2>Inventory</h2>\n";
  if (!report.inventory.versions.empty()) {
    out +=
        "<table class=\"versions\"><thead><tr><th>component</th><th>version</th></tr></thead>"
        "<tbody>\n";
    for (const auto& [name, version] : report.inventory.versions) {
      out += fmt::format("<tr><td>{}</td><td><code>{}</code></td></tr>\n", esc(name), esc(version));
    }
    out += "</tbody></table>\n";
  }
  const auto device_table = [&](const nlohmann::json& devices, std::string_view title) {
    if (!devices.is_array() || devices.empty()) {
      return;
    }
    std::vector<std::string> columns;
    for (const auto& device : devices) {
      if (device.is_object()) {
        for (const auto& [key, value] : device.items()) {
          if (std::find(columns.begin(), columns.end(), key) == columns.end() &&
              columns.size() < 8) {
            columns.push_back(key);
          }
        }
      }
    }
    out += fmt::format("<h3>{} ({})</h3>\n<table class=\"devices\"><thead><tr>", esc(title),
                       devices.size());
    for (const auto& column : columns) {
      out += fmt::format("<th>{}</th>", esc(column));
    }
    out += "</tr></thead><tbody>\n";
    std::size_t shown = 0;
    for (const auto& device : devices) {
      if (++shown > 32) {
        out += fmt::format("<tr><td colspan=\"{}\">\u2026 {} more</td></tr>\n", columns.size(),
                           devices.size() - 32);
        break;
      }
      out += "<tr>";
      for (const auto& column : columns) {
        std::string value;
        if (device.is_object() && device.contains(column)) {
          const auto& v = device.at(column);
          value = v.is_string() ? v.get<std::string>() : v.dump();
        }
        out += fmt::format("<td>{}</td>", esc(value));
      }
      out += "</tr>\n";
    }
    out += "</tbody></table>\n";
  };
  device_table(report.inventory.gpus, "GPUs");
  device_table(report.inventory.efa, "EFA devices");
  if (!report.inventory.env.empty()) {
    out += "<h3>Environment (allow-listed)</h3>\n<table class=\"env\"><tbody>\n";
    for (const auto& [name, value] : report.inventory.env) {
      out += fmt::format("<tr><td><code>{}</code></td><td><code>{}</code></td></tr>\n", esc(name),
                         esc(value));
    }
    out += "</tbody></table>\n";
  }
  if (report.inventory.versions.empty() && report.inventory.gpus.empty() &&
      report.inventory.efa.empty() && report.inventory.env.empty() &&
      report.inventory.instance_type.empty()) {
    out += "<p class=\"remediation\">The report records no inventory.</p>\n";
  }
  out += "</section>\n";

  if (report.details.is_object() && !report.details.empty()) {
    nlohmann::json shown = report.details;
    shown.erase("comparison");  // rendered above
    if (!shown.empty()) {
      std::string text = shown.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      constexpr std::size_t kMaxDetails = 64 * 1024;
      if (text.size() > kMaxDetails) {
        text = text.substr(0, kMaxDetails) + "\n\u2026 (truncated)";
      }
      out +=
          "<section id=\"details\">\n<h2>Details</h2>\n<details><summary>report details "
          "(JSON)</summary><pre>" +
          esc(text) + "</pre></details>\n</section>\n";
    }
  }
  out += fmt::format(
      "<footer>Rendered by preflight-report {} \u00b7 one self-contained file: no scripts, no "
      "network.</footer>\n",
      esc(PREFLIGHT_VERSION_STRING));
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace preflight::reports
