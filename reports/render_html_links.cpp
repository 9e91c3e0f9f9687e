#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "reports/render_html_parts.hpp"

namespace preflight::reports::html {
namespace {

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

}  // namespace

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

}  // namespace preflight::reports::html
