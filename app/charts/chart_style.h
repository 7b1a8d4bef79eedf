// One look for every chart, on screen and in exports: colors that tell runs, experts and
// devices apart, readable fonts, a white background that prints.
#pragma once

#include <QColor>
#include <QFont>

class QCustomPlot;

namespace moescope::charts {

// Runs and policies in comparison charts: a qualitative palette (Tableau 10), then darker and
// lighter shades of it.
QColor series_color(int index);
// Experts: hues spaced by the golden angle, so neighbouring experts never look alike, leaving
// out the magentas between these hues, which only the straggler's outline uses.
inline constexpr int kReservedHueStart = 285;
inline constexpr int kReservedHueEnd = 335;
QColor expert_color(int expert);
// The outline of a layer's straggler: a saturated magenta no expert or device colour uses.
QColor straggler_color();
// Devices: lane backgrounds and boundaries, light enough to draw spans over.
QColor device_color(int device);
// Spans coloured by the device that ran them: a qualitative palette without the magentas.
QColor device_series_color(int device);

QFont chart_font(int point_size = 9);

// Fonts, grid and margins of a chart; call before adding plottables.
void apply_chart_style(QCustomPlot& plot);

}  // namespace moescope::charts
