#include "app/charts/chart_style.h"

#include <array>
#include <cmath>

#include <qcustomplot.h>

namespace moescope::charts {

QColor series_color(int index) {
  static constexpr std::array<QRgb, 10> kTableau10 = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2,
                                                      0x59a14f, 0xedc948, 0xb07aa1, 0xff9da7,
                                                      0x9c755f, 0xbab0ac};
  const auto n = static_cast<int>(kTableau10.size());
  const int i = ((index % n) + n) % n;
  const QColor base(kTableau10[static_cast<std::size_t>(i)]);
  // Past ten series, alternate darker and lighter shades so series 1 and 11 still differ.
  const int round = (index >= 0 ? index : -index) / n;
  if (round == 0) return base;
  return round % 2 == 1 ? base.darker(150) : base.lighter(135);
}

QColor expert_color(int expert) {
  constexpr double kGoldenAngle = 137.50776405;
  // Hues spread over the circle but for the band kept for the straggler's outline.
  constexpr double kUsable = 360.0 - (kReservedHueEnd - kReservedHueStart);
  double hue = std::fmod(kGoldenAngle * expert, kUsable);
  if (hue >= kReservedHueStart) hue += kReservedHueEnd - kReservedHueStart;
  // Alternate lightness too, so that two experts with close hues still differ.
  const int lightness = (expert % 2 == 0) ? 120 : 150;
  return QColor::fromHsl(static_cast<int>(hue), 170, lightness);
}

QColor straggler_color() {
  return QColor::fromHsl((kReservedHueStart + kReservedHueEnd) / 2, 255, 110);
}

QColor device_series_color(int device) {
  // Tableau 10 without its purple and pink, which sit near the straggler's magenta.
  static constexpr std::array<QRgb, 8> kColors = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2,
                                                  0x59a14f, 0xedc948, 0x9c755f, 0xbab0ac};
  const auto n = static_cast<int>(kColors.size());
  const QColor base(kColors[static_cast<std::size_t>(((device % n) + n) % n)]);
  const int round = (device >= 0 ? device : -device) / n;
  if (round == 0) return base;
  return round % 2 == 1 ? base.darker(150) : base.lighter(135);
}

QColor device_color(int device) {
  return device % 2 == 0 ? QColor(0xf2, 0xf4, 0xf7) : QColor(0xe4, 0xe8, 0xee);
}

QFont chart_font(int point_size) {
  QFont font("DejaVu Sans");
  font.setPointSize(point_size);
  return font;
}

void apply_chart_style(QCustomPlot& plot) {
  plot.setBackground(Qt::white);
  plot.setAntialiasedElements(QCP::aeNone);
  for (QCPAxis* axis : {plot.xAxis, plot.yAxis}) {
    axis->setTickLabelFont(chart_font(9));
    axis->setLabelFont(chart_font(10));
    axis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::DotLine));
  }
  plot.legend->setFont(chart_font(9));
}

}  // namespace moescope::charts
