#include "app/charts/timeline_plottable.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include <QFontMetricsF>
#include <QPointer>

#include "app/charts/chart_style.h"

namespace moescope::charts {

namespace {

using profiler::Phase;

constexpr double kNsPerKey = 1000;   // keys are µs
constexpr int kLaneLabelWidth = 96;  // px left of the lanes: "expert 383", "Device 12"

const QColor kTransferColor(0xb4, 0xb9, 0xc2);  // dispatch, combine
const QColor kHostColor(0x8a, 0x92, 0x9e);      // gating, policy
const QColor kSharedColor(0x93, 0xa3, 0xbd);    // shared experts
const QColor kFoldSparse(0xb8, 0xbc, 0xc2);
const QColor kFoldBusy(0x4a, 0x4f, 0x57);
const QColor kIdleFill(0xe1, 0x3b, 0x3b, 45);
const QColor kIdleHatch(0xd0, 0x2a, 0x2a, 150);
const QColor kCritical(0x1f, 0x1f, 0x1f);
const QColor kBoundary(0xa8, 0xae, 0xb8);

// Expert load against the layer's mean, ColorBrewer's yellow-orange-brown: pale yellow below
// the mean, amber at it, dark brown at twice it and above. No blue (the shared experts and
// transfers are blue-grey), no idle red, no straggler magenta.
QColor load_color(double kept_over_mean) {
  struct Stop {
    double at;
    QRgb color;
  };
  static constexpr Stop kStops[] = {
      {0.0, 0xffffd4}, {0.5, 0xfee391}, {1.0, 0xfec44f}, {1.5, 0xec7014}, {2.0, 0x8c2d04}};
  const double x = std::clamp(kept_over_mean, 0.0, 2.0);
  for (std::size_t k = 1; k < std::size(kStops); ++k) {
    if (x <= kStops[k].at) {
      const double t = (x - kStops[k - 1].at) / (kStops[k].at - kStops[k - 1].at);
      const QColor a(kStops[k - 1].color);
      const QColor b(kStops[k].color);
      return QColor::fromRgbF(static_cast<float>(a.redF() + (b.redF() - a.redF()) * t),
                              static_cast<float>(a.greenF() + (b.greenF() - a.greenF()) * t),
                              static_cast<float>(a.blueF() + (b.blueF() - a.blueF()) * t));
    }
  }
  return QColor(kStops[std::size(kStops) - 1].color);
}

QColor phase_color(const viewdata::TimelineSpan& span) {
  switch (span.phase) {
    case Phase::kExpert:
      return span.expert >= 0 ? expert_color(span.expert) : kSharedColor;
    case Phase::kSharedExpert:
      return kSharedColor;
    case Phase::kDispatch:
    case Phase::kCombine:
      return kTransferColor;
    case Phase::kGating:
    case Phase::kPolicy:
      return kHostColor;
    case Phase::kWait:
      return kIdleFill;
  }
  return kTransferColor;
}

QString span_text(const viewdata::TimelineSpan& span) {
  if (span.phase == Phase::kExpert && span.expert >= 0) return QString("E%1").arg(span.expert);
  if (span.phase == Phase::kSharedExpert) return QStringLiteral("shared");
  return QString::fromUtf8(profiler::phase_name(span.phase).data(),
                           static_cast<qsizetype>(profiler::phase_name(span.phase).size()));
}

QColor mix(const QColor& a, const QColor& b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  return QColor::fromRgbF(static_cast<float>(a.redF() + (b.redF() - a.redF()) * t),
                          static_cast<float>(a.greenF() + (b.greenF() - a.greenF()) * t),
                          static_cast<float>(a.blueF() + (b.blueF() - a.blueF()) * t));
}

// Folds shaded by how busy they are, from a table: a frame shades thousands of them.
QRgb fold_shade(double busy_fraction) {
  static const auto kShades = [] {
    std::array<QRgb, 17> shades{};
    for (std::size_t k = 0; k < shades.size(); ++k)
      shades[k] = mix(kFoldSparse, kFoldBusy, static_cast<double>(k) / 16).rgb();
    return shades;
  }();
  const auto k = static_cast<std::size_t>(std::clamp(busy_fraction, 0.0, 1.0) * 16 + 0.5);
  return kShades[k];
}

// The idle red over a lane's background, opaque, for the share of a pixel column spent idle.
QRgb idle_shade(const QColor& band, float fraction) {
  const int a = 40 + static_cast<int>(160 * std::clamp(fraction, 0.0f, 1.0f));
  auto over = [a](int under, int over_c) { return under + (over_c - under) * a / 255; };
  return qRgb(over(band.red(), kIdleHatch.red()), over(band.green(), kIdleHatch.green()),
              over(band.blue(), kIdleHatch.blue()));
}

// The colour key under the title: what each mark of the timeline means.
class TimelineKey : public QCPLayoutElement {
 public:
  TimelineKey(QCustomPlot* plot, TimelinePlottable* timeline)
      : QCPLayoutElement(plot), timeline_(timeline) {
    setMargins(QMargins(0, 0, 0, 0));
  }

  QSize minimumOuterSizeHint() const override {
    return QSize(0, static_cast<int>(QFontMetricsF(chart_font(8)).height()) + 8);
  }
  QSize maximumOuterSizeHint() const override {
    return QSize(QWIDGETSIZE_MAX, minimumOuterSizeHint().height());
  }

 protected:
  void draw(QCPPainter* painter) override {
    struct Entry {
      QString text;
      int kind;
    };
    const SpanColoring coloring = timeline_ ? timeline_->coloring() : SpanColoring::kByExpert;
    const QString experts = coloring == SpanColoring::kByLoad ? "expert rows ÷ layer mean, 0 – 2+"
                            : coloring == SpanColoring::kByDevice ? "experts, by device"
                                                                  : "experts";
    const Entry entries[] = {{experts, 0},        {"shared expert", 1}, {"dispatch / combine", 2},
                             {"folded spans", 3}, {"idle, waiting", 4}, {"straggler", 5},
                             {"critical path", 6}};
    const QRectF area = rect();
    auto key_width = [&](const QFontMetricsF& metrics) {
      double w = 0;
      for (const auto& e : entries)
        w += metrics.height() * 1.6 + 4 + metrics.horizontalAdvance(e.text) + 14;
      return w;
    };
    // One row at any width: a narrow chart gets a smaller font rather than a clipped key.
    QFont font = chart_font(8);
    while (font.pointSizeF() > 5 && key_width(QFontMetricsF(font)) > area.width())
      font.setPointSizeF(font.pointSizeF() - 0.5);
    painter->setFont(font);
    const QFontMetricsF fm(painter->font());
    const double h = fm.height();
    const double y = area.top() + (area.height() - h) / 2;
    const double width = key_width(fm);
    double x = area.left() + std::max(0.0, (area.width() - width) / 2);
    for (const auto& e : entries) {
      const QRectF swatch(x, y + h * 0.15, h * 1.6, h * 0.7);
      painter->setPen(Qt::NoPen);
      switch (e.kind) {
        case 0:
          for (int k = 0; k < 4; ++k) {
            painter->setBrush(coloring == SpanColoring::kByLoad     ? load_color(k * 2.0 / 3)
                              : coloring == SpanColoring::kByDevice ? device_series_color(k)
                                                                    : expert_color(k));
            painter->drawRect(QRectF(swatch.left() + swatch.width() * k / 4, swatch.top(),
                                     swatch.width() / 4, swatch.height()));
          }
          break;
        case 1:
          painter->fillRect(swatch, kSharedColor);
          break;
        case 2:
          painter->fillRect(swatch, kTransferColor);
          break;
        case 3:
          painter->fillRect(swatch, mix(kFoldSparse, kFoldBusy, 0.7));
          break;
        case 4:
          painter->fillRect(swatch, kIdleFill);
          painter->fillRect(swatch, QBrush(kIdleHatch, Qt::BDiagPattern));
          break;
        case 5:
          painter->setPen(QPen(straggler_color(), 1.5));
          painter->setBrush(Qt::NoBrush);
          painter->drawRect(swatch.adjusted(1, 0, -1, 0));
          break;
        case 6:
          painter->fillRect(QRectF(swatch.left(), swatch.top(), swatch.width(), 2), kCritical);
          painter->fillRect(swatch.adjusted(0, 3, 0, 0), kTransferColor);
          break;
      }
      x += swatch.width() + 4;
      painter->setPen(QColor(0x33, 0x33, 0x33));
      painter->drawText(QPointF(x, y + fm.ascent()), e.text);
      x += fm.horizontalAdvance(e.text) + 14;
    }
  }

 private:
  QPointer<TimelinePlottable> timeline_;
};

// Layer names on the top axis, each centred over its own layer (the visible part of it) with a
// tick pointing into it, so a name never sits over a neighbouring layer's spans; as many as fit
// without overlapping. It works from the viewport, which an export sets before laying the plot
// out, so exported images get labels for their own width.
class LayerAxisTicker : public QCPAxisTicker {
 public:
  LayerAxisTicker(QCustomPlot* plot, TimelinePlottable* timeline)
      : plot_(plot), timeline_(timeline) {}

  void generate(const QCPRange& range, const QLocale& locale, QChar format_char, int precision,
                QVector<double>& ticks, QVector<double>* sub_ticks,
                QVector<QString>* tick_labels) override {
    Q_UNUSED(locale)
    Q_UNUSED(format_char)
    Q_UNUSED(precision)
    ticks.clear();
    if (sub_ticks) sub_ticks->clear();
    if (tick_labels) tick_labels->clear();
    if (!timeline_) return;  // the plot was cleared
    const auto& data = timeline_->data();
    const auto& layers = data.layers();
    // The lane labels take this much of the width.
    const double width_px = plot_->viewport().width() - kLaneLabelWidth - 20.0;
    if (layers.empty() || range.size() <= 0 || width_px <= 0) return;
    const double px_per_key = width_px / range.size();
    const QFontMetricsF fm(plot_->xAxis2->tickLabelFont());
    const bool several_steps = layers.back().step != layers.front().step;
    double free_from = range.lower;
    const auto t0 = static_cast<std::int64_t>(range.lower * kNsPerKey);
    const auto t1 = static_cast<std::int64_t>(range.upper * kNsPerKey);
    int k = std::max(0, data.layer_at(t0));
    while (k < static_cast<int>(layers.size()) &&
           layers[static_cast<std::size_t>(k)].start_ns < t1) {
      const viewdata::TimelineLayer& l = layers[static_cast<std::size_t>(k)];
      QString label = several_steps ? QString("step %1 · layer %2").arg(l.step).arg(l.layer)
                                    : QString("layer %1").arg(l.layer);
      const auto& notes = timeline_->layer_notes();
      if (static_cast<std::size_t>(k) < notes.size() &&
          !notes[static_cast<std::size_t>(k)].isEmpty())
        label += " · " + notes[static_cast<std::size_t>(k)];
      const double half = (fm.horizontalAdvance(label) + 16) / px_per_key / 2;
      const double start = static_cast<double>(std::max(l.start_ns, t0)) / kNsPerKey;
      const double end = static_cast<double>(std::min(l.end_ns, t1)) / kNsPerKey;
      const double at = (start + end) / 2;
      if (at - half >= free_from && at + half <= range.upper) {
        ticks.push_back(at);
        if (tick_labels) tick_labels->push_back(label);
        free_from = at + half;
      }
      // The next candidate is the layer under the free room plus half a name (names are about
      // as wide as this one), else the one after it: a few per name placed, never one per layer.
      k = std::max(k + 1, data.layer_at(static_cast<std::int64_t>(
                              (std::max(free_from, start) + half) * kNsPerKey)));
    }
  }

 private:
  QCustomPlot* plot_;
  QPointer<TimelinePlottable> timeline_;
};

}  // namespace

TimelinePlottable::TimelinePlottable(QCPAxis* key_axis, QCPAxis* value_axis)
    : QCPAbstractPlottable(key_axis, value_axis),
      data_(std::make_shared<const viewdata::TimelineData>()) {
  setSelectable(QCP::stNone);
  setAntialiasedFill(false);
}

void TimelinePlottable::set_data(std::shared_ptr<const viewdata::TimelineData> data) {
  data_ = data ? std::move(data) : std::make_shared<const viewdata::TimelineData>();
  rows_ = data_->rows(expanded_);
  drawn_.assign(rows_.size(), {});
  set_loads(nullptr);
  layer_notes_.clear();
  area_t0_ = area_t1_ = 0;
}

void TimelinePlottable::set_expanded(bool expanded) {
  expanded_ = expanded;
  rows_ = data_->rows(expanded_);
  drawn_.assign(rows_.size(), {});
}

int TimelinePlottable::row_of_lane(int lane) const {
  const auto it = std::find(rows_.begin(), rows_.end(), lane);
  return it == rows_.end() ? -1 : static_cast<int>(it - rows_.begin());
}

void TimelinePlottable::set_highlight(int layer, int expert) {
  highlight_layer_ = layer;
  highlight_expert_ = expert;
}

void TimelinePlottable::set_loads(std::shared_ptr<const viewdata::LoadCube> loads) {
  loads_ = loads && !loads->empty() ? std::move(loads) : nullptr;
  const auto& layers = data_->layers();
  slot_cube_layer_.assign(layers.size(), -1);
  slot_mean_kept_.assign(layers.size(), 0);
  if (!loads_) return;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const int index = loads_->layer_index(layers[k].layer);
    if (index < 0 || layers[k].step < 0 || layers[k].step >= loads_->steps()) continue;
    slot_cube_layer_[k] = index;
    double sum = 0;
    for (int e = 0; e < loads_->experts(); ++e)
      sum += loads_->value(layers[k].step, index, e, viewdata::LoadKind::kKept);
    slot_mean_kept_[k] = sum / loads_->experts();
  }
}

std::optional<ExpertRows> TimelinePlottable::rows_of(int layer_slot, int expert) const {
  if (!loads_ || layer_slot < 0 || layer_slot >= static_cast<int>(slot_cube_layer_.size()) ||
      expert < 0 || expert >= loads_->experts()) {
    return std::nullopt;
  }
  const int index = slot_cube_layer_[static_cast<std::size_t>(layer_slot)];
  if (index < 0) return std::nullopt;
  const int step = data_->layers()[static_cast<std::size_t>(layer_slot)].step;
  ExpertRows rows;
  rows.routed = loads_->value(step, index, expert, viewdata::LoadKind::kRouted);
  rows.kept = loads_->value(step, index, expert, viewdata::LoadKind::kKept);
  const double mean = slot_mean_kept_[static_cast<std::size_t>(layer_slot)];
  rows.kept_over_mean = mean > 0 ? rows.kept / mean : 0;
  return rows;
}

QColor TimelinePlottable::color_of(const viewdata::TimelineSpan& span, int device) const {
  if (span.phase != Phase::kExpert || span.expert < 0) return phase_color(span);
  switch (coloring_) {
    case SpanColoring::kByExpert:
      break;
    case SpanColoring::kByDevice:
      return device_series_color(device);
    case SpanColoring::kByLoad:
      if (const auto rows = rows_of(span.layer_slot, span.expert))
        return load_color(rows->kept_over_mean);
      return kSharedColor;  // no loads for this layer: neutral
  }
  return phase_color(span);
}

void TimelinePlottable::set_area(std::int64_t t0_ns, std::int64_t t1_ns) {
  area_t0_ = t0_ns;
  area_t1_ = t1_ns;
}

double TimelinePlottable::x_of(std::int64_t t_ns) const {
  return x_origin_ + static_cast<double>(t_ns - t_origin_) * px_per_ns_;
}

std::optional<TimelineHit> TimelinePlottable::item_at(double key, double value,
                                                      double tolerance_px) const {
  const int row = static_cast<int>(std::lround(value));
  if (row < 0 || row >= static_cast<int>(drawn_.size()) || !mKeyAxis) return std::nullopt;
  const auto& items = drawn_[static_cast<std::size_t>(row)];
  const double x = mKeyAxis->coordToPixel(key);
  // Items are by start; the nearest one within the tolerance wins, a drawn width of at least
  // one pixel counted as the item itself.
  std::optional<TimelineHit> best;
  double best_distance = tolerance_px;
  const auto t = static_cast<std::int64_t>(std::floor(key * kNsPerKey));
  auto it =
      std::upper_bound(items.begin(), items.end(), t,
                       [](std::int64_t v, const viewdata::DrawItem& i) { return v < i.start_ns; });
  const auto lo = it - std::min<std::ptrdiff_t>(it - items.begin(), 8);
  const auto hi = items.end() - it > 8 ? it + 8 : items.end();
  for (auto k = lo; k != hi; ++k) {
    const double x0 = x_of(k->start_ns);
    const double x1 = std::max(x_of(k->end_ns), x0 + 1);
    const double distance = x < x0 ? x0 - x : (x > x1 ? x - x1 : 0);
    if (distance <= best_distance) {
      best_distance = distance;
      best = TimelineHit{rows_[static_cast<std::size_t>(row)], *k};
    }
  }
  return best;
}

double TimelinePlottable::selectTest(const QPointF& pos, bool only_selectable,
                                     QVariant* details) const {
  Q_UNUSED(details)
  if ((only_selectable && mSelectable == QCP::stNone) || !mKeyAxis || !mValueAxis) return -1;
  const auto hit = item_at(mKeyAxis->pixelToCoord(pos.x()), mValueAxis->pixelToCoord(pos.y()), 0);
  return hit ? 0 : -1;
}

QCPRange TimelinePlottable::getKeyRange(bool& found_range, QCP::SignDomain in_sign_domain) const {
  Q_UNUSED(in_sign_domain)
  found_range = !data_->empty();
  return QCPRange(static_cast<double>(data_->start_ns()) / kNsPerKey,
                  static_cast<double>(data_->end_ns()) / kNsPerKey);
}

QCPRange TimelinePlottable::getValueRange(bool& found_range, QCP::SignDomain in_sign_domain,
                                          const QCPRange& in_key_range) const {
  Q_UNUSED(in_sign_domain)
  Q_UNUSED(in_key_range)
  found_range = !rows_.empty();
  return QCPRange(-0.5, static_cast<double>(rows_.size()) - 0.5);
}

void TimelinePlottable::drawLegendIcon(QCPPainter* painter, const QRectF& rect) const {
  painter->fillRect(rect, expert_color(0));
}

void TimelinePlottable::draw(QCPPainter* painter) {
  if (data_->empty() || !mKeyAxis || !mValueAxis) return;
  const QCPRange keys = mKeyAxis->range();
  const auto t0 = static_cast<std::int64_t>(std::floor(keys.lower * kNsPerKey));
  const auto t1 = static_cast<std::int64_t>(std::ceil(keys.upper * kNsPerKey));
  if (t1 <= t0) return;
  const double width_px =
      std::abs(mKeyAxis->coordToPixel(keys.upper) - mKeyAxis->coordToPixel(keys.lower));
  // The key axis is linear: one multiply per coordinate instead of a call into the axis.
  t_origin_ = t0;
  x_origin_ = mKeyAxis->coordToPixel(static_cast<double>(t0) / kNsPerKey);
  px_per_ns_ = (mKeyAxis->coordToPixel(static_cast<double>(t1) / kNsPerKey) - x_origin_) /
               static_cast<double>(t1 - t0);
  painter->setFont(chart_font(7));
  const QCPRange values = mValueAxis->range();
  const int first_row = std::max(0, static_cast<int>(std::floor(values.lower + 0.5)));
  const int last_row =
      std::min(static_cast<int>(rows_.size()) - 1, static_cast<int>(std::ceil(values.upper - 0.5)));
  for (auto& items : drawn_)
    items.clear();
  for (int row = first_row; row <= last_row; ++row)
    draw_lane(painter, row, t0, t1, width_px);
  draw_layer_boundaries(painter, t0, t1);
  if (area_t1_ > area_t0_ && area_t1_ > t0 && area_t0_ < t1) {
    const QRect clip = clipRect();
    const double x0 = std::max(x_of(area_t0_), clip.left() - 1.0);
    const double x1 = std::min(x_of(area_t1_), clip.right() + 1.0);
    const QRectF area(x0, clip.top(), std::max(1.0, x1 - x0), clip.height());
    painter->fillRect(area, QColor(0x2b, 0x6c, 0xd4, 40));
    painter->setPen(QPen(QColor(0x2b, 0x6c, 0xd4), 1));
    painter->setBrush(Qt::NoBrush);
    painter->drawLine(QPointF(area.left(), area.top()), QPointF(area.left(), area.bottom()));
    painter->drawLine(QPointF(area.right(), area.top()), QPointF(area.right(), area.bottom()));
  }
}

void TimelinePlottable::draw_lane(QCPPainter* painter, int row, std::int64_t t0, std::int64_t t1,
                                  double width_px) {
  const int lane_index = rows_[static_cast<std::size_t>(row)];
  const viewdata::TimelineLane& lane = data_->lanes()[static_cast<std::size_t>(lane_index)];
  const bool device_lane = lane.expert < 0;
  const QRect clip = clipRect();
  const double ya = mValueAxis->coordToPixel(row - 0.5);
  const double yb = mValueAxis->coordToPixel(row + 0.5);
  const double band_top = std::min(ya, yb);
  const double band_h = std::abs(yb - ya);
  QColor band = device_color(lane.device);
  if (!device_lane) band = band.lighter(104);
  painter->fillRect(QRectF(clip.left(), band_top, clip.width(), band_h), band);

  // Spans fill the band but for a strip on top, where the critical path is marked.
  const double strip = std::clamp(band_h * 0.18, 1.0, 4.0);
  const double y0 = band_top + strip + 1;
  const double y1 = band_top + band_h - std::clamp(band_h * 0.08, 1.0, 3.0);
  const double span_h = std::max(1.0, y1 - y0);

  // Idle slivers, folds and short spans go into one opaque image row, one pixel per column,
  // drawn once per lane.
  const int columns = clip.width() + 1;
  bool strip_used = false;
  auto columns_of = [&](double x0, double x1) {
    if (!strip_used) {
      if (strip_.width() != columns) strip_ = QImage(columns, 1, QImage::Format_RGB32);
      strip_.fill(band);
      strip_used = true;
    }
    const int c0 = std::clamp(static_cast<int>(std::floor(x0)) - clip.left(), 0, columns - 1);
    const int c1 = std::clamp(static_cast<int>(std::ceil(x1)) - clip.left(), c0 + 1, columns);
    return std::pair{c0, c1};
  };
  std::vector<QRectF> wide_idle;
  if (device_lane) {
    const auto& blocks = data_->idle(lane.device);
    // Blocks of a device never overlap, so their ends are sorted as their starts are.
    auto it =
        std::upper_bound(blocks.begin(), blocks.end(), t0,
                         [](std::int64_t t, const viewdata::IdleBlock& b) { return t < b.end_ns; });
    for (; it != blocks.end() && it->start_ns < t1; ++it) {
      const double x0 = std::max(x_of(it->start_ns), clip.left() - 1.0);
      const double x1 = std::min(x_of(it->end_ns), clip.right() + 1.0);
      if (x1 - x0 >= 2) {
        wide_idle.emplace_back(x0, y0, x1 - x0, span_h);
        continue;
      }
      // Narrower than a hatch can show: shade its column by the share it idles.
      const auto [c0, c1] = columns_of(x0, x1);
      Q_UNUSED(c1)
      idle_columns_.resize(static_cast<std::size_t>(columns), 0.0f);
      idle_columns_[static_cast<std::size_t>(c0)] += static_cast<float>(std::max(x1 - x0, 0.0));
    }
    if (!idle_columns_.empty()) {
      auto* line = reinterpret_cast<QRgb*>(strip_.scanLine(0));
      for (int c = 0; c < columns; ++c) {
        const float fraction = std::min(1.0f, idle_columns_[static_cast<std::size_t>(c)]);
        if (fraction > 0) line[c] = idle_shade(band, fraction);
      }
      idle_columns_.clear();
    }
  }

  auto& items = drawn_[static_cast<std::size_t>(row)];
  viewdata::fold_spans(lane, t0, t1, width_px, items);
  const double left = clip.left() - 2.0;
  const double right = clip.right() + 2.0;
  auto extent_of = [&](const viewdata::DrawItem& item) {
    const double x0 = std::max(x_of(item.start_ns), left);
    const double x1 = std::min(std::max(x_of(item.end_ns), x0 + 1), right);
    return std::pair{x0, x1};
  };
  // Folds and spans too narrow for an outline are plain rectangles: the strip takes them all.
  // A raster fill costs microseconds each and a zoomed-out frame has thousands of folds.
  auto in_strip = [](const viewdata::DrawItem& item, double x0, double x1) {
    return item.folded || x1 - x0 < 5;
  };
  for (const viewdata::DrawItem& item : items) {
    const auto [x0, x1] = extent_of(item);
    if (!in_strip(item, x0, x1)) continue;
    QRgb color;
    if (item.folded) {
      const double extent =
          static_cast<double>(std::max<std::int64_t>(1, item.end_ns - item.start_ns));
      color = fold_shade(static_cast<double>(item.busy_ns) / extent);
    } else {
      color = color_of(lane.spans[static_cast<std::size_t>(item.first_span)], lane.device).rgb();
    }
    const auto [c0, c1] = columns_of(x0, x1);
    auto* line = reinterpret_cast<QRgb*>(strip_.scanLine(0));
    std::fill(line + c0, line + c1, color);
  }
  if (strip_used) {
    // Copied down to the lane's height here and drawn unscaled: a plain blit, where a stretched
    // image goes through the raster engine's much slower scaling path.
    const int height = std::max(1, static_cast<int>(std::lround(span_h)));
    if (tall_strip_.width() != columns || tall_strip_.height() != height) {
      tall_strip_ = QImage(columns, height, QImage::Format_RGB32);
    }
    const auto bytes = static_cast<std::size_t>(columns) * sizeof(QRgb);
    for (int y = 0; y < height; ++y)
      std::memcpy(tall_strip_.scanLine(y), strip_.constScanLine(0), bytes);
    painter->drawImage(QPointF(clip.left(), std::round(y0)), tall_strip_);
  }

  const QBrush hatch(kIdleHatch, Qt::BDiagPattern);
  for (const QRectF& r : wide_idle) {
    painter->fillRect(r, kIdleFill);
    painter->fillRect(r, hatch);
  }
  const QFontMetricsF fm(painter->font());
  for (const viewdata::DrawItem& item : items) {
    const auto [x0, x1] = extent_of(item);
    if (in_strip(item, x0, x1)) continue;
    const QRectF r(x0, y0, x1 - x0, span_h);
    const viewdata::TimelineSpan& span = lane.spans[static_cast<std::size_t>(item.first_span)];
    const QColor color = color_of(span, lane.device);
    painter->fillRect(r, color);
    painter->setPen(QPen(color.darker(140), 0));
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(r.adjusted(0, 0, -1, -1));
    if (device_lane && span.on_critical_path()) {
      painter->fillRect(QRectF(x0, band_top + 1, x1 - x0, strip - 0.5), kCritical);
    }
    const viewdata::TimelineLayer& layer =
        data_->layers()[static_cast<std::size_t>(span.layer_slot)];
    if (highlight_expert_ >= 0 && span.expert == highlight_expert_ &&
        layer.layer == highlight_layer_) {
      painter->setPen(QPen(Qt::black, 2));
      painter->setBrush(Qt::NoBrush);
      painter->drawRect(r.adjusted(1, 1, -1, -1));
    }
    const QString text = span_text(span);
    if (r.width() >= fm.horizontalAdvance(text) + 6 && span_h >= fm.height()) {
      painter->setPen(color.lightness() > 150 ? QColor(0x20, 0x20, 0x20) : Qt::white);
      painter->drawText(r, Qt::AlignCenter, text);
    }
  }
  if (device_lane) {
    // Around the spans, below the critical path strip, so that both show.
    draw_stragglers(painter, lane.device, t0, t1, y0 - 1, y1 + 1);
  }
}

void TimelinePlottable::draw_stragglers(QCPPainter* painter, int device, std::int64_t t0,
                                        std::int64_t t1, double y0, double y1) {
  const auto& layers = data_->layers();
  painter->setPen(QPen(straggler_color(), 2));
  painter->setBrush(Qt::NoBrush);
  for (int k = std::max(0, data_->layer_at(t0)); k < static_cast<int>(layers.size()); ++k) {
    const viewdata::TimelineLayer& l = layers[static_cast<std::size_t>(k)];
    if (l.start_ns >= t1) break;
    if (l.straggler_device != device) continue;
    const double x0 = x_of(l.expert_phase_start_ns);
    const double x1 = x_of(l.expert_phase_end_ns);
    if (x1 - x0 < 3) continue;
    painter->drawRect(QRectF(x0, y0, x1 - x0, y1 - y0));
  }
}

void TimelinePlottable::draw_layer_boundaries(QCPPainter* painter, std::int64_t t0,
                                              std::int64_t t1) {
  const auto& layers = data_->layers();
  if (layers.empty()) return;
  const QRect clip = clipRect();
  const double ns_per_px = static_cast<double>(t1 - t0) / std::max(1, clip.width());
  constexpr double kMinLinePx = 8;
  // Where layers average under a dozen pixels the lines are stripes that say nothing; the
  // layer names on the top axis still tell where the view is.
  const int first = std::max(0, data_->layer_at(t0));
  const int visible = data_->layer_at(t1) - first + 1;
  if (visible > 1 && clip.width() / visible < 12) return;
  int k = first;
  while (k < static_cast<int>(layers.size()) && layers[static_cast<std::size_t>(k)].start_ns < t1) {
    const viewdata::TimelineLayer& l = layers[static_cast<std::size_t>(k)];
    const double x = x_of(l.start_ns);
    if (x >= clip.left() && x <= clip.right()) {
      // Opaque and axis-aligned: the raster engine's fast fill, not a stroked line.
      painter->fillRect(QRectF(std::floor(x), clip.top(), 1, clip.height()), kBoundary);
    }
    // Skip the layers that would land within a few pixels of this line.
    const auto next_t = l.start_ns + static_cast<std::int64_t>(kMinLinePx * ns_per_px);
    k = std::max(k + 1, data_->layer_at(next_t - 1) + 1);
  }
}

QVector<double> TimeAxisTicker::createTickVector(double tick_step, const QCPRange& range) {
  step_ = tick_step;
  return QCPAxisTicker::createTickVector(tick_step, range);
}

QString TimeAxisTicker::getTickLabel(double tick, const QLocale& locale, QChar format_char,
                                     int precision) {
  Q_UNUSED(format_char)
  Q_UNUSED(precision)
  // Keys are µs.
  const bool in_s = step_ >= 100'000;
  const bool in_ms = !in_s && step_ >= 100;
  const double scale = in_s ? 1e-6 : (in_ms ? 1e-3 : 1);
  const double step = step_ * scale;
  // As many decimals as the step needs: 2.5 ms steps read 2.5, 5.0, 7.5.
  int decimals = 0;
  while (decimals < 6 && std::abs(step * std::pow(10, decimals) -
                                  std::round(step * std::pow(10, decimals))) > 1e-6) {
    ++decimals;
  }
  if (std::abs(tick) < step_ * 1e-6) tick = 0;  // no "-0"
  return locale.toString(tick * scale, 'f', decimals) + (in_s ? " s" : (in_ms ? " ms" : " µs"));
}

QString timeline_title(const std::string& timing, int devices, const QString& run_name) {
  const QString title = timeline_title(timing, devices);
  if (run_name.isEmpty()) return title;
  const QString head = QStringLiteral("Straggler timeline — ");
  // Two lines: a long run name and the timing would not fit a laptop's width on one.
  return head + run_name + "\n" + title.mid(head.size());
}

QString coloring_name(SpanColoring coloring) {
  switch (coloring) {
    case SpanColoring::kByExpert:
      return "expert";
    case SpanColoring::kByDevice:
      return "device";
    case SpanColoring::kByLoad:
      return "load";
  }
  return "expert";
}

SpanColoring default_coloring(const viewdata::TimelineData& data, bool has_loads) {
  int experts = 0;
  for (const auto& lane : data.lanes())
    experts = std::max(experts, lane.expert + 1);
  if (experts <= kExpertHues) return SpanColoring::kByExpert;
  return has_loads ? SpanColoring::kByLoad : SpanColoring::kByDevice;
}

QString timeline_title(const std::string& timing, int devices) {
  const QString head = QStringLiteral("Straggler timeline — ");
  const QString plural = devices == 1 ? "" : "s";
  if (timing == "measured") {
    return head + (devices > 0 ? QString("measured on %1 rank%2").arg(devices).arg(plural)
                               : QString("measured"));
  }
  return head + "composed from per-expert timings" +
         (devices > 0 ? QString(" (%1 virtual device%2)").arg(devices).arg(plural)
                      : QString(" (virtual devices)"));
}

QString lane_label(const viewdata::TimelineLane& lane, const std::string& timing) {
  if (lane.expert >= 0) return QString("expert %1").arg(lane.expert);
  // A measured timeline has one lane per rank (one process per device).
  return QString(timing == "measured" ? "Rank %1" : "Device %1").arg(lane.device);
}

namespace {

void update_lane_ticks(QCustomPlot& plot, const TimelinePlottable& timeline,
                       const std::string& timing) {
  auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(plot.yAxis->ticker());
  if (!ticker) return;
  const double row_px = std::abs(plot.yAxis->coordToPixel(1) - plot.yAxis->coordToPixel(0));
  const bool experts_fit = row_px >= QFontMetricsF(plot.yAxis->tickLabelFont()).height() * 0.9;
  QMap<double, QString> ticks;
  const auto& rows = timeline.rows();
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const viewdata::TimelineLane& lane =
        timeline.data().lanes()[static_cast<std::size_t>(rows[row])];
    if (lane.expert >= 0 && !experts_fit) continue;
    ticks.insert(static_cast<double>(row), lane_label(lane, timing));
  }
  if (ticks != ticker->ticks()) ticker->setTicks(ticks);
}

}  // namespace

void update_axis_ticks(QCustomPlot& plot, const TimelinePlottable& timeline,
                       const std::string& timing) {
  update_lane_ticks(plot, timeline, timing);
}

void zoom_to_fit(QCustomPlot& plot, const TimelinePlottable& timeline) {
  const viewdata::TimelineData& data = timeline.data();
  if (!data.empty()) {
    const double span = static_cast<double>(data.end_ns() - data.start_ns()) / kNsPerKey;
    const double pad = std::max(span * 0.01, 0.001);
    plot.xAxis->setRange(static_cast<double>(data.start_ns()) / kNsPerKey - pad,
                         static_cast<double>(data.end_ns()) / kNsPerKey + pad);
  } else {
    plot.xAxis->setRange(0, 1);
  }
  plot.yAxis->setRange(-0.5,
                       std::max<double>(1, static_cast<double>(timeline.rows().size())) - 0.5);
}

TimelinePlottable* setup_timeline_plot(QCustomPlot& plot,
                                       std::shared_ptr<const viewdata::TimelineData> data,
                                       const std::string& timing, bool expanded,
                                       const QString& run_name) {
  plot.clearPlottables();
  plot.clearItems();
  // A previous setup's title and key rows go; the axis rect stays.
  while (plot.plotLayout()->rowCount() > 1) {
    plot.plotLayout()->remove(plot.plotLayout()->element(0, 0));
    plot.plotLayout()->simplify();
  }
  apply_chart_style(plot);
  const int devices = data ? data->devices() : 0;
  plot.plotLayout()->insertRow(0);
  auto* title =
      new QCPTextElement(&plot, timeline_title(timing, devices, run_name), chart_font(11));
  title->setMargins(QMargins(0, 6, 0, 0));
  plot.plotLayout()->addElement(0, 0, title);

  auto* timeline = new TimelinePlottable(plot.xAxis, plot.yAxis);
  timeline->set_data(std::move(data));
  timeline->set_expanded(expanded);
  timeline->set_coloring(default_coloring(timeline->data(), false));
  plot.plotLayout()->insertRow(1);
  plot.plotLayout()->addElement(1, 0, new TimelineKey(&plot, timeline));

  plot.xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new TimeAxisTicker));
  plot.xAxis->setLabel("Time since the run's start");
  plot.xAxis->grid()->setVisible(false);
  auto lanes = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  plot.yAxis->setTicker(lanes);
  plot.yAxis->setRangeReversed(true);
  plot.yAxis->grid()->setVisible(false);
  plot.yAxis->setTickLength(0, 0);
  plot.yAxis->setSubTickLength(0, 0);
  plot.yAxis->setLabel("");
  plot.xAxis2->setVisible(true);
  plot.xAxis2->setTicker(QSharedPointer<QCPAxisTicker>(new LayerAxisTicker(&plot, timeline)));
  // Set up again for every run shown: one connection, not one per run.
  QObject::connect(plot.xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), plot.xAxis2,
                   qOverload<const QCPRange&>(&QCPAxis::setRange), Qt::UniqueConnection);
  // A short tick from each layer name down into its own layer.
  plot.xAxis2->setTickLength(0, 5);
  plot.xAxis2->setTickPen(QPen(QColor(0x40, 0x46, 0x50), 1));
  plot.xAxis2->setSubTickLength(0, 0);
  plot.xAxis2->setBasePen(Qt::NoPen);
  plot.xAxis2->setTickLabelFont(chart_font(8));
  plot.xAxis2->setTickLabelColor(QColor(0x40, 0x46, 0x50));
  plot.xAxis2->grid()->setVisible(false);
  update_axis_ticks(plot, *timeline, timing);
  QObject::connect(&plot, &QCustomPlot::beforeReplot, timeline,
                   [&plot, timeline, timing] { update_axis_ticks(plot, *timeline, timing); });

  // One left margin for every timeline, whatever its lane labels: two runs stacked (A/B) put
  // the same time at the same x.
  plot.axisRect()->setAutoMargins(QCP::msTop | QCP::msRight | QCP::msBottom);
  plot.axisRect()->setMargins(QMargins(kLaneLabelWidth, 0, 0, 0));
  plot.setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot.axisRect()->setRangeDrag(Qt::Horizontal);
  plot.axisRect()->setRangeZoom(Qt::Horizontal);
  plot.axisRect()->setRangeZoomFactor(0.8, 1);
  zoom_to_fit(plot, *timeline);

  if (timeline->data().empty()) {
    auto* message = new QCPItemText(&plot);
    message->position->setType(QCPItemPosition::ptAxisRectRatio);
    message->position->setCoords(0.5, 0.5);
    message->setFont(chart_font(11));
    message->setColor(QColor(0x55, 0x5b, 0x66));
    message->setText(kEmptyTimelineMessage);
  }
  return timeline;
}

}  // namespace moescope::charts
