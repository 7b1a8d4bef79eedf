// The straggler timeline: its data equals the events given, folding loses no span, idle time,
// stragglers and the critical path match a hand-built composed layer, and it renders.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <tuple>

#include <qcustomplot.h>
#include <QApplication>
#include <QComboBox>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "app/charts/chart_style.h"
#include "app/charts/timeline_plottable.h"
#include "app/gui/views/timeline_chart.h"
#include "app/gui/views/timeline_view.h"
#include "app/viewdata/device_summary.h"
#include "app/viewdata/layer_saving.h"
#include "app/viewdata/timeline_spans.h"
#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/model_spec.h"
#include "core/model/presets.h"
#include "core/session/record_experiment.h"

using moescope::LayerStatRow;
using moescope::profiler::Event;
using moescope::profiler::Phase;
using moescope::viewdata::DrawItem;
using moescope::viewdata::TimelineData;
using moescope::viewdata::TimelineLane;

namespace {

constexpr std::int64_t kUs = 1000;

// Two composed layers on three devices, in µs. Layer 0: dispatch ends at 12 (device 1), device 1
// runs expert 2 until 97 (the straggler), device 0 finishes at 57 and device 2 at 40, combine
// ends at 105 (device 2). Layer 1 is laid after it with device 0 the straggler.
std::vector<Event> hand_events() {
  auto ev = [](std::int64_t start, std::int64_t end, int device, int layer, int expert,
               Phase phase) {
    return Event{start * kUs, end * kUs, device, 0, 0, layer, expert, phase};
  };
  return {
      ev(0, 10, 0, 0, -1, Phase::kDispatch),
      ev(0, 12, 1, 0, -1, Phase::kDispatch),
      ev(0, 8, 2, 0, -1, Phase::kDispatch),
      ev(12, 17, 0, 0, -1, Phase::kSharedExpert),
      ev(17, 47, 0, 0, 0, Phase::kExpert),
      ev(47, 57, 0, 0, 1, Phase::kExpert),
      ev(12, 17, 1, 0, -1, Phase::kSharedExpert),
      ev(17, 97, 1, 0, 2, Phase::kExpert),
      ev(12, 16, 2, 0, -1, Phase::kSharedExpert),
      ev(16, 36, 2, 0, 4, Phase::kExpert),
      ev(36, 40, 2, 0, 5, Phase::kExpert),
      ev(97, 104, 0, 0, -1, Phase::kCombine),
      ev(97, 103, 1, 0, -1, Phase::kCombine),
      ev(97, 105, 2, 0, -1, Phase::kCombine),
      // Layer 1 from 105: expert phase 110..170, device 0 last.
      ev(105, 110, 0, 1, -1, Phase::kDispatch),
      ev(105, 109, 1, 1, -1, Phase::kDispatch),
      ev(105, 108, 2, 1, -1, Phase::kDispatch),
      ev(110, 150, 0, 1, 0, Phase::kExpert),
      ev(150, 170, 0, 1, 1, Phase::kExpert),
      ev(110, 125, 1, 1, 2, Phase::kExpert),
      ev(110, 160, 2, 1, 4, Phase::kExpert),
      ev(170, 176, 0, 1, -1, Phase::kCombine),
      ev(170, 175, 1, 1, -1, Phase::kCombine),
      ev(170, 174, 2, 1, -1, Phase::kCombine),
  };
}

using Interval = std::tuple<std::int64_t, std::int64_t, int, Phase>;

std::vector<Interval> intervals(const TimelineLane& lane) {
  std::vector<Interval> out;
  for (const auto& s : lane.spans)
    out.emplace_back(s.start_ns, s.end_ns, s.expert, s.phase);
  return out;
}

template <typename Keep>
std::vector<Interval> intervals(const std::vector<Event>& events, Keep keep) {
  std::vector<Interval> out;
  for (const auto& e : events) {
    if (keep(e)) out.emplace_back(e.start_ns, e.end_ns, e.expert, e.phase);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every lane of `data` holds exactly the events it should, sorted, with a right prefix max.
void check_lanes_equal_events(const TimelineData& data, const std::vector<Event>& events) {
  std::size_t device_spans = 0;
  for (const TimelineLane& lane : data.lanes()) {
    auto got = intervals(lane);
    QVERIFY(std::is_sorted(lane.spans.begin(), lane.spans.end(),
                           [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; }));
    std::int64_t running = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = 0; i < lane.spans.size(); ++i) {
      running = std::max(running, lane.spans[i].end_ns);
      QCOMPARE(lane.max_end[i], running);
    }
    std::sort(got.begin(), got.end());
    const auto want = intervals(events, [&](const Event& e) {
      return e.device == lane.device && (lane.expert < 0 || e.expert == lane.expert);
    });
    QCOMPARE(got, want);
    if (lane.expert < 0) device_spans += lane.spans.size();
  }
  QCOMPARE(device_spans, events.size());
  QCOMPARE(data.span_count(), events.size());
}

// The center pixel of a span in a rendered plot.
QPoint span_center(QCustomPlot& plot, const moescope::charts::TimelinePlottable& timeline, int lane,
                   std::int64_t start_ns, std::int64_t end_ns) {
  const int row = timeline.row_of_lane(lane);
  const double x = plot.xAxis->coordToPixel(static_cast<double>(start_ns + end_ns) / 2 / 1e3);
  const double y = plot.yAxis->coordToPixel(row);
  return QPoint(static_cast<int>(x), static_cast<int>(y));
}

// A stored-run stand-in for the views: hand_events() (times scaled), its layer statistics
// with a 95% interval of +-`half` µs around each layer's latency, a capacity of 60 rows, and
// loads where expert 2 of layer 0 kept 50 of 70 routed rows against a mean of 20.
std::shared_ptr<const moescope::viewdata::LoadedRun> hand_run(std::int64_t id, double scale,
                                                              std::int64_t half_us) {
  auto run = std::make_shared<moescope::viewdata::LoadedRun>();
  run->data.run.id = id;
  run->data.run.name = "run" + std::to_string(id);
  run->data.run.timing = "composed";
  auto events = hand_events();
  for (auto& e : events) {
    e.start_ns = static_cast<std::int64_t>(static_cast<double>(e.start_ns) * scale);
    e.end_ns = static_cast<std::int64_t>(static_cast<double>(e.end_ns) * scale);
  }
  for (int layer = 0; layer < 2; ++layer) {
    LayerStatRow row;
    row.layer = layer;
    row.latency_ns =
        static_cast<std::int64_t>(static_cast<double>(layer == 0 ? 105 : 71) * kUs * scale);
    row.latency_low_ns = row.latency_ns - half_us * kUs;
    row.latency_high_ns = row.latency_ns + half_us * kUs;
    row.straggler_device = layer == 0 ? 1 : 0;
    row.capacity = {60};
    run->data.layers.push_back(row);
  }
  run->timeline =
      std::make_shared<const TimelineData>(TimelineData::build(events, run->data.layers));
  moescope::viewdata::LoadCube cube(1, {0, 1}, 6);
  const int kept[6] = {10, 20, 50, 0, 30, 10};
  for (int layer = 0; layer < 2; ++layer) {
    for (int e = 0; e < 6; ++e) {
      cube.set(0, layer, e, moescope::viewdata::LoadKind::kKept, kept[e]);
      cube.set(0, layer, e, moescope::viewdata::LoadKind::kRouted, kept[e] + (e == 2 ? 20 : 0));
    }
  }
  cube.finish();
  run->cube = std::make_shared<const moescope::viewdata::LoadCube>(std::move(cube));
  return run;
}

}  // namespace

class TimelineTest : public QObject {
  Q_OBJECT

 private slots:
  // Per device, by hand from hand_events(): expert phases 12..97 and 110..170 (145 µs).
  void device_summary_says_whom_the_layers_wait_for() {
    const auto data = TimelineData::build(hand_events(), {});
    const auto rows = moescope::viewdata::summarize_devices(data);
    QCOMPARE(rows.size(), std::size_t{3});
    // Device 0: shared 5 and experts 30 + 10, then 40 + 20; last in layer 1; idle 57..97.
    QCOMPARE(rows[0].busy_ns, (45.0 + 60.0) / 2 * kUs);
    QCOMPARE(rows[0].straggler_share, 0.5);
    QCOMPARE(rows[0].first_straggler_slot, 1);
    QCOMPARE(rows[0].idle_share, 40.0 / 145.0);
    QCOMPARE(rows[0].busiest.size(), std::size_t{2});
    QCOMPARE(rows[0].busiest[0].expert, 0);
    QCOMPARE(rows[0].busiest[0].ns, 35.0 * kUs);
    QCOMPARE(rows[0].busiest[1].expert, 1);
    // Device 1: the straggler of layer 0, idle 125..170 in layer 1.
    QCOMPARE(rows[1].first_straggler_slot, 0);
    QCOMPARE(rows[1].idle_share, 45.0 / 145.0);
    QCOMPARE(rows[1].busiest[0].expert, 2);
    QCOMPARE(rows[1].busiest[0].ns, 47.5 * kUs);
    // Device 2 never holds a layer up.
    QCOMPARE(rows[2].straggler_share, 0.0);
    QCOMPARE(rows[2].first_straggler_slot, -1);
    QCOMPARE(rows[2].idle_share, (57.0 + 10.0) / 145.0);
    QCOMPARE(rows[2].busy_ns, (28.0 + 50.0) / 2 * kUs);
  }

  void spans_equal_events_per_lane() {
    auto events = hand_events();
    std::mt19937 rng(7);
    std::shuffle(events.begin(), events.end(), rng);  // order must not matter
    const auto data = TimelineData::build(events, {});
    QCOMPARE(data.devices(), 3);
    QCOMPARE(static_cast<int>(data.layers().size()), 2);
    QCOMPARE(data.start_ns(), 0);
    QCOMPARE(data.end_ns(), 176 * kUs);
    // Three device lanes and one per (device, expert): 0,1 on 0; 2 on 1; 4,5 on 2.
    QCOMPARE(static_cast<int>(data.lanes().size()), 3 + 5);
    check_lanes_equal_events(data, events);
    QCOMPARE(data.rows(false), (std::vector<int>{0, 1, 2}));
    const int e2 = data.expert_lane(1, 2);
    QCOMPARE(data.rows(true),
             (std::vector<int>{0, data.expert_lane(0, 0), data.expert_lane(0, 1), 1, e2, 2,
                               data.expert_lane(2, 4), data.expert_lane(2, 5)}));
    QCOMPARE(data.layers()[0].start_ns, 0);
    QCOMPARE(data.layers()[1].start_ns, 105 * kUs);
    QCOMPARE(data.layer_at(104 * kUs), 0);
    QCOMPARE(data.layer_at(105 * kUs), 1);
  }

  void idle_is_the_wait_for_the_slowest_device() {
    const auto data = TimelineData::build(hand_events(), {});
    QCOMPARE(data.layers()[0].expert_phase_start_ns, 12 * kUs);
    QCOMPARE(data.layers()[0].expert_phase_end_ns, 97 * kUs);
    QCOMPARE(data.idle_ns(0, 0), 40 * kUs);  // 57 -> 97
    QCOMPARE(data.idle_ns(0, 1), 0);
    QCOMPARE(data.idle_ns(0, 2), 57 * kUs);  // 40 -> 97
    QCOMPARE(data.idle_ns(1, 0), 0);
    QCOMPARE(data.idle_ns(1, 1), 45 * kUs);  // 125 -> 170
    QCOMPARE(data.idle_ns(1, 2), 10 * kUs);  // 160 -> 170
    QCOMPARE(data.idle(2).front().start_ns, 40 * kUs);
    QCOMPARE(data.idle(2).front().end_ns, 97 * kUs);
  }

  void straggler_and_critical_path() {
    const auto data = TimelineData::build(hand_events(), {});
    QCOMPARE(data.layers()[0].straggler_device, 1);
    QCOMPARE(data.layers()[1].straggler_device, 0);
    // The stored statistics win over what the spans suggest (a measured run may know better).
    LayerStatRow row;
    row.step = 0;
    row.layer = 1;
    row.straggler_device = 2;
    row.straggler_margin_ns = 5 * kUs;
    const auto with_stats = TimelineData::build(hand_events(), {row});
    QCOMPARE(with_stats.layers()[0].straggler_device, 1);
    QCOMPARE(with_stats.layers()[1].straggler_device, 2);
    QCOMPARE(with_stats.layers()[1].straggler_margin_ns, 5 * kUs);

    // Layer 0's latency is the slowest dispatch, the straggler's shared and routed experts and
    // the slowest combine, back to back.
    const auto path = data.critical_path(0);
    QCOMPARE(static_cast<int>(path.size()), 4);
    std::int64_t clock = 0;
    for (const auto& span : path) {
      QCOMPARE(span.start_ns, clock);
      clock = span.end_ns;
    }
    QCOMPARE(clock, 105 * kUs);
    QCOMPARE(path[2].expert, 2);
    QCOMPARE(path[3].end_ns, 105 * kUs);
  }

  void hit_test_finds_the_span() {
    const auto data = TimelineData::build(hand_events(), {});
    const auto& d1 = data.lanes()[1].spans;
    auto hit = data.hit_test(1, 50 * kUs);
    QVERIFY(hit);
    QCOMPARE(d1[static_cast<std::size_t>(*hit)].expert, 2);
    QCOMPARE(d1[static_cast<std::size_t>(*hit)].start_ns, 17 * kUs);
    // Where two spans touch, the shorter one (expert 1, 10 µs, not expert 0, 30 µs).
    hit = data.hit_test(0, 47 * kUs);
    QVERIFY(hit);
    QCOMPARE(data.lanes()[0].spans[static_cast<std::size_t>(*hit)].expert, 1);
    // Device 2 idles from 40 to 97: nothing there, unless the tolerance reaches a span.
    QVERIFY(!data.hit_test(2, 60 * kUs));
    hit = data.hit_test(2, 42 * kUs, 3 * kUs);
    QVERIFY(hit);
    QCOMPARE(data.lanes()[2].spans[static_cast<std::size_t>(*hit)].expert, 5);
    QVERIFY(!data.hit_test(7 + 1, 0));  // no such lane
  }

  void folding_conserves_every_span() {
    // One device lane of 20,000 spans: mostly narrow, some long, some overlapping, with gaps.
    std::mt19937_64 rng(42);
    std::vector<Event> events;
    std::int64_t clock = 0;
    for (int i = 0; i < 20000; ++i) {
      const std::int64_t duration =
          (i % 97 == 0) ? 500'000 : 200 + static_cast<std::int64_t>(rng() % 3000);
      const std::int64_t gap = (i % 13 == 0) ? static_cast<std::int64_t>(rng() % 40000) : 0;
      // Every 50th span overlaps the previous one (a second stream).
      const std::int64_t start = (i % 50 == 0 && i > 0) ? clock - duration / 2 : clock + gap;
      events.push_back({start, start + duration, 0, 0, 0, i / 100, i % 64, Phase::kExpert});
      clock = std::max(clock, start + duration);
    }
    const auto data = TimelineData::build(events, {}, {.expert_lanes = false});
    const TimelineLane& lane = data.lanes()[0];
    check_lanes_equal_events(data, events);
    const moescope::viewdata::LodOptions lod;
    struct Window {
      std::int64_t t0, t1;
      double width;
    };
    const std::int64_t end = data.end_ns();
    for (const Window w :
         {Window{0, end, 1600}, Window{0, end, 37}, Window{end / 3, end / 3 + 1'000'000, 1600},
          Window{end / 2, end / 2 + 50'000'000, 800}, Window{-5, end + 5, 100000}}) {
      const auto items = moescope::viewdata::fold_spans(lane, w.t0, w.t1, w.width, lod);
      const double ns_per_px = static_cast<double>(w.t1 - w.t0) / w.width;
      const auto min_width = static_cast<std::int64_t>(std::ceil(lod.min_span_px * ns_per_px));
      const auto max_gap = static_cast<std::int64_t>(std::ceil(lod.max_gap_px * ns_per_px));
      // The spans meeting the window, as the lane's index range [first, last).
      const std::size_t first = moescope::viewdata::first_visible_span(lane, w.t0);
      std::size_t last = first;
      while (last < lane.spans.size() && lane.spans[last].start_ns < w.t1)
        ++last;
      QVERIFY(last > first);
      std::size_t next = first;
      std::size_t folded_spans = 0;
      for (const DrawItem& item : items) {
        // Consecutive, disjoint index ranges: no span lost, none drawn twice.
        QCOMPARE(static_cast<std::size_t>(item.first_span), next);
        next += static_cast<std::size_t>(item.count);
        std::int64_t busy = 0, max_end = std::numeric_limits<std::int64_t>::min();
        for (std::size_t i = static_cast<std::size_t>(item.first_span); i < next; ++i) {
          const auto& s = lane.spans[i];
          busy += s.duration_ns();
          max_end = std::max(max_end, s.end_ns);
          // Each span lies inside its item.
          QVERIFY(s.start_ns >= item.start_ns && s.end_ns <= item.end_ns);
          if (item.folded) {
            QVERIFY(s.duration_ns() < min_width);
            // A fold bridges only gaps narrower than a pixel.
            if (i > static_cast<std::size_t>(item.first_span)) {
              QVERIFY(s.start_ns - lane.max_end[i - 1] < max_gap);
            }
          }
        }
        // The item covers exactly its spans' extent.
        QCOMPARE(item.start_ns, lane.spans[static_cast<std::size_t>(item.first_span)].start_ns);
        QCOMPARE(item.end_ns, max_end);
        QCOMPARE(item.busy_ns, busy);
        QCOMPARE(item.folded, item.count > 1);
        if (item.folded) folded_spans += static_cast<std::size_t>(item.count);
      }
      QCOMPARE(next, last);
      if (min_width > 3200) {
        // Zoomed out, almost everything folds and the frame has far fewer items than spans.
        QVERIFY(folded_spans > (last - first) / 2);
        QVERIFY(items.size() < static_cast<std::size_t>(w.width) * 3);
      }
    }
  }

  void renders_offscreen_and_to_pdf() {
    auto data = std::make_shared<const TimelineData>(TimelineData::build(hand_events(), {}));
    QCustomPlot plot;
    plot.resize(1200, 600);
    auto* timeline = moescope::charts::setup_timeline_plot(plot, data, "composed");
    const QPixmap pixmap = plot.toPixmap(1200, 600);
    QCOMPARE(pixmap.size(), QSize(1200, 600));
    // Expert 2's span on device 1 is drawn in expert 2's colour, where the axes say it is.
    const QImage image = pixmap.toImage();
    // (Probed a quarter in, clear of the "E2" label at its centre.)
    const QPoint p = span_center(plot, *timeline, 1, 17 * kUs, 37 * kUs);
    QCOMPARE(image.pixelColor(p).rgb(), moescope::charts::expert_color(2).rgb());
    // And device 2 idles there: its lane is shaded, not expert-coloured.
    const QPoint idle = span_center(plot, *timeline, 2, 60 * kUs, 60 * kUs);
    QVERIFY(image.pixelColor(idle).red() > image.pixelColor(idle).blue());

    QTemporaryDir dir;
    const QString pdf = dir.filePath("timeline.pdf");
    QVERIFY(plot.savePdf(pdf, 800, 400));
    std::ifstream in(pdf.toStdString(), std::ios::binary);
    std::string head(5, '\0');
    in.read(head.data(), 5);
    QCOMPARE(QString::fromStdString(head), QString("%PDF-"));
    QVERIFY(std::filesystem::file_size(pdf.toStdString()) > 1000);
    const QString png = dir.filePath("timeline.png");
    QVERIFY(plot.savePng(png, 640, 320));
    QCOMPARE(QImage(png).size(), QSize(640, 320));
  }

  void view_hover_click_and_select() {
    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();  // lays the plot out at its real size
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_run(hand_events(), {}, "composed");
    QCustomPlot* plot = view.plot();
    QVERIFY(plot->width() > 1000);
    auto* timeline = view.timeline();
    const QPoint p = span_center(*plot, *timeline, 1, 17 * kUs, 97 * kUs);
    const QString details = view.details_at(p);
    QVERIFY2(details.contains("Device 1, expert 2"), qPrintable(details));
    QVERIFY2(details.contains("duration 80 µs, from 17 µs into the layer"), qPrintable(details));
    QVERIFY2(details.contains("step 0, layer 0"), qPrintable(details));
    const QString idle = view.details_at(span_center(*plot, *timeline, 2, 60 * kUs, 60 * kUs));
    QVERIFY2(idle.contains("idle 57 µs, waiting for Device 1"), qPrintable(idle));

    QSignalSpy selected(&view, &moescope::gui::TimelineView::span_selected);
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, p);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.at(0).at(0).toInt(), 0);
    QCOMPARE(selected.at(0).at(1).toInt(), 2);

    // Zoomed into layer 0, selecting an expert of layer 1 brings layer 1 into view.
    plot->xAxis->setRange(0, 20);
    view.select_expert(1, 4);
    QVERIFY(plot->xAxis->range().contains(105 + 1));
    QVERIFY(plot->xAxis->range().contains(175));
    view.zoom_to_fit();
    QVERIFY(plot->xAxis->range().contains(0) && plot->xAxis->range().contains(176));

    view.set_experts_expanded(true);
    QCOMPARE(static_cast<int>(timeline->rows().size()), 8);
    view.set_experts_expanded(false);
    QCOMPARE(static_cast<int>(timeline->rows().size()), 3);
  }

  void folded_blocks_are_described_on_hover() {
    std::vector<Event> events;
    for (int i = 0; i < 10000; ++i)
      events.push_back({i * 1000LL, i * 1000LL + 900, 0, 0, 0, i / 100, i % 8, Phase::kExpert});
    moescope::gui::TimelineView view;
    view.resize(800, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_run(events, {}, "measured");
    const QPoint p = span_center(*view.plot(), *view.timeline(), 0, 5'000'000, 5'000'000);
    const QString details = view.details_at(p);
    QVERIFY2(details.contains("spans folded"), qPrintable(details));
    QVERIFY2(details.startsWith("Rank 0"), qPrintable(details));
  }

  void empty_run_shows_a_message() {
    moescope::gui::TimelineView view;
    view.resize(800, 400);
    view.show_run({}, {}, "composed");
    QCustomPlot* plot = view.plot();
    QCOMPARE(plot->itemCount(), 1);
    auto* text = qobject_cast<QCPItemText*>(plot->item(0));
    QVERIFY(text);
    QCOMPARE(text->text(), QString(moescope::charts::kEmptyTimelineMessage));
    QCOMPARE(plot->toPixmap(400, 200).size(), QSize(400, 200));
    QVERIFY(view.details_at(QPoint(200, 100)).isEmpty());
    view.select_expert(0, 0);
    view.zoom_to_fit();
    view.set_experts_expanded(true);
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, QPoint(300, 200));
    view.clear();
    QCOMPARE(plot->itemCount(), 1);
  }

  void stored_run_timeline_equals_its_events() {
    QTemporaryDir dir;
    moescope::SessionStore store(dir.filePath("t.moescope").toStdString(),
                                 moescope::SessionStore::Access::kWrite);
    moescope::Experiment e;
    e.model.scale = 32;
    e.model.layers = {0, 1};
    e.routing.tokens = 64;
    e.seed = 1;
    e.steps = 2;
    e.devices = {4};
    e.backend = "cpu";
    const auto backend = moescope::make_cpu_backend();
    const auto recorded =
        moescope::record_experiment(store, e, *backend, nullptr, nullptr).batches.front();
    for (const auto id : recorded.run_ids) {
      const auto events = store.spans(id);
      const auto stats = store.layer_stats(id);
      QVERIFY(!events.empty());
      const auto data = TimelineData::build(events, stats);
      check_lanes_equal_events(data, events);
      QCOMPARE(data.devices(), 4);
      QCOMPARE(data.layers().size(), stats.size());
      for (std::size_t k = 0; k < stats.size(); ++k) {
        const int slot = data.layer_slot(stats[k].step, stats[k].layer);
        QVERIFY(slot >= 0);
        const auto& layer = data.layers()[static_cast<std::size_t>(slot)];
        QCOMPARE(layer.end_ns - layer.start_ns, stats[k].latency_ns);
        QCOMPARE(layer.straggler_device, stats[k].straggler_device);
        // The straggler never waits; every device finishes when the phase ends or waits.
        QCOMPARE(data.idle_ns(slot, layer.straggler_device), 0);
      }
      moescope::gui::TimelineView view;
      view.resize(1000, 500);
      view.show_run(events, stats, store.run(id).timing);
      QCOMPARE(view.timeline()->data().span_count(), events.size());
      QCOMPARE(view.plot()->toPixmap(1000, 500).size(), QSize(1000, 500));
    }
  }
  void bad_stored_stragglers_and_devices_are_safe() {
    // A stored straggler that is not a device of the run is ignored in favour of the spans.
    std::vector<moescope::profiler::Event> events(2);
    events[0].end_ns = 1000;
    events[0].expert = 0;
    events[1].end_ns = 500;
    events[1].device = 1;
    events[1].expert = 1;
    moescope::LayerStatRow stat;
    stat.straggler_device = 1000000;
    const auto data = moescope::viewdata::TimelineData::build(events, {stat});
    QCOMPARE(data.layers().front().straggler_device, 0);
    // A corrupt device id is refused with an error instead of allocating a lane for each id.
    events[1].device = 20000000;
    QVERIFY_THROWS_EXCEPTION(moescope::Error, moescope::viewdata::TimelineData::build(events, {}));
    events[1].device = 1;
    events[1].end_ns = std::numeric_limits<std::int64_t>::max();
    QVERIFY_THROWS_EXCEPTION(moescope::Error, moescope::viewdata::TimelineData::build(events, {}));
  }

  void a_failed_run_clears_the_previous_one() {
    moescope::gui::TimelineView view;
    std::vector<moescope::profiler::Event> good(1);
    good[0].end_ns = 100;
    good[0].expert = 0;
    view.show_run(good, {}, "composed");
    QCOMPARE(view.timeline()->data().span_count(), std::size_t{1});
    auto bad = good;
    bad[0].end_ns = -5;  // ends before it starts
    QVERIFY_THROWS_EXCEPTION(moescope::Error, view.show_run(bad, {}, "composed"));
    QCOMPARE(view.timeline()->data().span_count(), std::size_t{0});
  }

  // By hand from hand_events(): layer 0 is 0..105 µs, its expert phase 12..97.
  void totals_of_a_window() {
    const auto data = TimelineData::build(hand_events(), {});
    auto totals = moescope::viewdata::totals_between(data, 0, 105 * kUs);
    QCOMPARE(totals.size(), std::size_t{3});
    QCOMPARE(totals[0].expert_ns, 45 * kUs);    // 5 shared + 30 + 10
    QCOMPARE(totals[0].transfer_ns, 17 * kUs);  // dispatch 10, combine 7
    QCOMPARE(totals[0].idle_ns, 40 * kUs);      // 57..97
    QCOMPARE(totals[2].expert_ns, 28 * kUs);
    QCOMPARE(totals[2].idle_ns, 57 * kUs);
    QCOMPARE(totals[1].idle_ns, std::int64_t{0});  // the straggler
    totals = moescope::viewdata::totals_between(data, 20 * kUs, 60 * kUs);
    QCOMPARE(totals[0].expert_ns, 37 * kUs);
    QCOMPARE(totals[0].idle_ns, 3 * kUs);
    QCOMPARE(totals[0].spans, 2);
    QCOMPARE(totals[1].expert_ns, 40 * kUs);
    QCOMPARE(totals[1].spans, 1);
    QCOMPARE(totals[2].expert_ns, 20 * kUs);
    QCOMPARE(totals[2].idle_ns, 20 * kUs);
    QCOMPARE(totals[2].transfer_ns, std::int64_t{0});
    for (const auto& row : moescope::viewdata::totals_between(data, 50 * kUs, 50 * kUs))
      QCOMPARE(row.spans, 0);
  }

  void area_selection_totals_the_window() {
    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_run(hand_events(), {}, "composed");
    view.chart()->select_area(20 * kUs, 60 * kUs);
    const QString text = view.area_text();
    QVERIFY2(text.contains("Selected 40 µs (1 layer): experts 97 µs, transfers and routing 0 ns, "
                           "idle 23 µs (19.2% of the devices' time); most idle: Device 2, 20 µs"),
             qPrintable(text));
    // Shift+drag selects; a plain drag pans and leaves the selection as it is.
    QCustomPlot* plot = view.plot();
    const int y = static_cast<int>(plot->yAxis->coordToPixel(0));
    const int x0 = static_cast<int>(plot->xAxis->coordToPixel(30));
    const int x1 = static_cast<int>(plot->xAxis->coordToPixel(90));
    QTest::mousePress(plot, Qt::LeftButton, Qt::ShiftModifier, QPoint(x0, y));
    QMouseEvent move(QEvent::MouseMove, QPointF(x1, y), plot->mapToGlobal(QPointF(x1, y)),
                     Qt::LeftButton, Qt::LeftButton, Qt::ShiftModifier);
    QApplication::sendEvent(plot, &move);
    QTest::mouseRelease(plot, Qt::LeftButton, Qt::ShiftModifier, QPoint(x1, y));
    const auto area = view.chart()->area();
    QVERIFY(area.has_value());
    QVERIFY2(std::abs(static_cast<double>(area->first) / 1e3 - 30) < 0.5 &&
                 std::abs(static_cast<double>(area->second) / 1e3 - 90) < 0.5,
             qPrintable(QString("%1 %2").arg(area->first).arg(area->second)));
    // Dragged past the plot's right edge, the window stops at the run's end (176 µs).
    const int beyond = plot->axisRect()->rect().right() + 40;
    QTest::mousePress(plot, Qt::LeftButton, Qt::ShiftModifier, QPoint(x0, y));
    QMouseEvent past(QEvent::MouseMove, QPointF(beyond, y), plot->mapToGlobal(QPointF(beyond, y)),
                     Qt::LeftButton, Qt::LeftButton, Qt::ShiftModifier);
    QApplication::sendEvent(plot, &past);
    QTest::mouseRelease(plot, Qt::LeftButton, Qt::ShiftModifier, QPoint(beyond, y));
    QVERIFY(view.chart()->area().has_value());
    QVERIFY(view.chart()->area()->second <= 176 * kUs);
    QTest::keyClick(&view, Qt::Key_Escape);
    QVERIFY(!view.chart()->area().has_value());
    QVERIFY(view.area_text().isEmpty());
  }

  void keys_zoom_and_pan_and_the_window_stays_on_the_run() {
    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_run(hand_events(), {}, "composed");
    QCustomPlot* plot = view.plot();
    plot->xAxis->setRange(40, 140);
    QTest::keyClick(&view, Qt::Key_W);
    QCOMPARE(plot->xAxis->range().size(), 80.0);
    QCOMPARE(plot->xAxis->range().center(), 90.0);
    QTest::keyClick(&view, Qt::Key_D);
    QCOMPARE(plot->xAxis->range().center(), 106.0);
    QTest::keyClick(&view, Qt::Key_A);
    QTest::keyClick(&view, Qt::Key_A);
    QCOMPARE(plot->xAxis->range().center(), 74.0);
    QTest::keyClick(&view, Qt::Key_S);
    QCOMPARE(plot->xAxis->range().size(), 100.0);
    // Dragged past the end, the window stops at the run's end (plus a 2% margin).
    const double end = 176 * 1.02;
    plot->xAxis->setRange(1000, 1100);
    QCOMPARE(plot->xAxis->range().size(), 100.0);
    QVERIFY2(plot->xAxis->range().upper <= end + 1e-9,
             qPrintable(QString::number(plot->xAxis->range().upper)));
    plot->xAxis->setRange(-1e6, 1e6);  // zoomed far out: the whole run, no more
    QVERIFY(plot->xAxis->range().lower >= -176 * 0.02 - 1e-9);
    QVERIFY(plot->xAxis->range().upper <= end + 1e-9);
  }

  // Every layer name on the top axis sits over its own layer, never over a neighbour.
  void layer_names_sit_over_their_layers() {
    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    std::vector<Event> events;
    // 40 layers of unequal lengths, so names do not fit every layer.
    std::int64_t t = 0;
    for (int layer = 0; layer < 40; ++layer) {
      const std::int64_t length = (layer % 3 + 1) * 7 * kUs;
      events.push_back({t, t + length, 0, 0, 0, layer, layer % 4, Phase::kExpert});
      t += length;
    }
    view.show_run(events, {}, "composed");
    for (const auto& [lower, upper] :
         {std::pair{0.0, 600.0}, std::pair{35.0, 140.0}, std::pair{100.0, 120.0}}) {
      view.plot()->xAxis->setRange(lower, upper);
      view.plot()->replot();
      const auto ticks = view.plot()->xAxis2->tickVector();
      const auto labels = view.plot()->xAxis2->tickVectorLabels();
      QVERIFY(!ticks.isEmpty());
      for (qsizetype i = 0; i < ticks.size(); ++i) {
        const int layer = labels[i].section(' ', 1, 1).toInt();
        const auto& info = view.timeline()->data().layers()[static_cast<std::size_t>(layer)];
        QCOMPARE(info.layer, layer);
        QVERIFY2(ticks[i] * 1e3 >= static_cast<double>(info.start_ns) &&
                     ticks[i] * 1e3 <= static_cast<double>(info.end_ns),
                 qPrintable(labels[i] + " at " + QString::number(ticks[i])));
      }
    }
  }

  void colouring_rows_and_capacity() {
    using moescope::charts::SpanColoring;
    // Straggler magenta: no expert or device colour comes near its hue.
    const int straggler_hue = moescope::charts::straggler_color().hslHue();
    auto hue_distance = [](int a, int b) {
      const int d = std::abs(a - b) % 360;
      return std::min(d, 360 - d);
    };
    for (int e = 0; e < 1024; ++e)
      QVERIFY(hue_distance(moescope::charts::expert_color(e).hslHue(), straggler_hue) >= 25);
    for (int d = 0; d < 64; ++d) {
      const QColor c = moescope::charts::device_series_color(d);
      QVERIFY(c.hslSaturation() < 60 || hue_distance(c.hslHue(), straggler_hue) >= 25);
    }

    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_loaded(hand_run(1, 1.0, 5));
    QCOMPARE(view.timeline()->coloring(), SpanColoring::kByExpert);  // 6 experts: hues
    QVERIFY(view.plot()->plottableCount() == 1);
    QVERIFY(view.plot()->plotLayout()->elementCount() > 0);
    const QPoint p = span_center(*view.plot(), *view.timeline(), 1, 17 * kUs, 97 * kUs);
    const QString details = view.details_at(p);
    QVERIFY2(details.contains("rows 50 kept of 70 routed (2.50× the layer's mean)"),
             qPrintable(details));
    QVERIFY2(details.contains("capacity 60 rows per expert"), qPrintable(details));
    // Capacities per device read as the run's scope says: C_d of the device, C_s per source.
    {
      auto scoped = std::make_shared<moescope::viewdata::LoadedRun>(*hand_run(1, 1.0, 5));
      for (auto& row : scoped->data.layers)
        row.capacity = {30, 60, 90};
      scoped->timeline = std::make_shared<const TimelineData>(
          TimelineData::build(hand_events(), scoped->data.layers));
      scoped->data.run.request_json = R"({"policies": {"capacity_scope": "device"}})";
      view.show_loaded(scoped);
      QVERIFY2(view.details_at(p).contains("capacity 60 rows on this device (device scope)"),
               qPrintable(view.details_at(p)));
      scoped->data.run.request_json = R"({"policies": {"capacity_scope": "source"}})";
      view.show_loaded(scoped);
      QVERIFY2(view.details_at(p).contains(
                   "capacity per expert from each source device: 30, 60, 90 rows"),
               qPrintable(view.details_at(p)));
      view.show_loaded(hand_run(1, 1.0, 5));
    }
    view.set_coloring(SpanColoring::kByDevice);
    QImage image = view.plot()->toPixmap().toImage();
    QCOMPARE(image.pixelColor(p).rgb(), moescope::charts::device_series_color(1).rgb());
    view.set_coloring(SpanColoring::kByLoad);
    image = view.plot()->toPixmap().toImage();
    const QColor hot = image.pixelColor(p);  // 2.5x the mean: the darkest brown
    QCOMPARE(hot.rgb(), QColor(0x8c2d04).rgb());

    // 64 experts: not 64 hues, but load when the loads are known, else device.
    std::vector<Event> many;
    for (int e = 0; e < 64; ++e)
      many.push_back({e * kUs, (e + 1) * kUs, e / 32, 0, 0, 0, e, Phase::kExpert});
    const auto data = TimelineData::build(many, {});
    QCOMPARE(moescope::charts::default_coloring(data, false), SpanColoring::kByDevice);
    QCOMPARE(moescope::charts::default_coloring(data, true), SpanColoring::kByLoad);
  }

  // Expanded, 64 experts keep a readable lane each; the rest scroll.
  void expanded_lanes_stay_readable() {
    moescope::gui::TimelineView view;
    view.resize(1200, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    std::vector<Event> many;
    for (int e = 0; e < 64; ++e)
      many.push_back({e * kUs, (e + 1) * kUs, e / 32, 0, 0, 0, e, Phase::kExpert});
    view.show_run(many, {}, "composed");
    view.set_experts_expanded(true);
    QCustomPlot* plot = view.plot();
    plot->replot();
    QCoreApplication::processEvents();
    QCOMPARE(static_cast<int>(view.timeline()->rows().size()), 66);
    const double row_px = std::abs(plot->yAxis->coordToPixel(1) - plot->yAxis->coordToPixel(0));
    QVERIFY2(row_px >= 16, qPrintable(QString::number(row_px)));
    QCOMPARE(plot->yAxis->range().lower, -0.5);
    const auto labels =
        qSharedPointerDynamicCast<QCPAxisTickerText>(plot->yAxis->ticker())->ticks();
    QCOMPARE(labels.value(1), QString("expert 0"));
    QTest::keyClick(&view, Qt::Key_Down);
    QCOMPARE(plot->yAxis->range().lower, 0.5);
    for (int i = 0; i < 100; ++i)
      view.chart()->scroll_rows(1);
    QCOMPARE(plot->yAxis->range().upper, 65.5);  // stops at the last lane
  }

  void layer_saving_is_a_change_only_outside_the_noise() {
    LayerStatRow a;
    a.latency_ns = 100 * kUs;
    a.latency_low_ns = 95 * kUs;
    a.latency_high_ns = 105 * kUs;
    LayerStatRow b = a;
    b.latency_ns = 150 * kUs;
    b.latency_low_ns = 140 * kUs;
    b.latency_high_ns = 160 * kUs;
    using moescope::viewdata::layer_saving;
    using moescope::viewdata::saving_text;
    QCOMPARE(saving_text(layer_saving(a, b)), std::string("saves 50 µs (33.3%)"));
    QCOMPARE(saving_text(layer_saving(b, a)), std::string("costs 50 µs (+50.0%)"));
    b.latency_low_ns = 104 * kUs;  // the intervals overlap
    QCOMPARE(saving_text(layer_saving(a, b)), std::string("no significant change"));
    b.latency_low_ns = b.latency_high_ns = b.latency_ns;  // one repeat
    QCOMPARE(saving_text(layer_saving(a, b)), std::string("saves 50 µs (33.3%), one repeat"));
  }

  // A/B: the compared run under the shown one, one time window for both while locked, kept
  // when the shown run changes; each layer marked with what the shown run saves.
  void ab_axes_stay_locked_across_a_run_switch() {
    moescope::gui::TimelineView view;
    view.resize(1200, 800);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QSignalSpy requested(&view, &moescope::gui::TimelineView::compare_requested);
    view.show_loaded(hand_run(1, 1.0, 5));
    view.set_compare_choices({{7, "run7 (#7)"}, {8, "run8 (#8)"}}, 7);
    QCOMPARE(requested.count(), 1);
    QCOMPARE(requested.at(0).at(0).toLongLong(), 7);
    QCOMPARE(view.compared_run_id().value_or(-1), 7);
    view.show_compared(hand_run(7, 1.5, 5));
    QVERIFY(view.compared_chart()->isVisible());
    QVERIFY(view.axes_locked());

    // The shown run saves 52.5 µs in layer 0 (intervals apart) and 35.5 µs in layer 1.
    const auto& notes = view.timeline()->layer_notes();
    QCOMPARE(static_cast<int>(notes.size()), 2);
    QCOMPARE(notes[0], QString("saves 52.5 µs (33.3%)"));
    QCOMPARE(notes[1], QString("saves 35.5 µs (33.3%)"));

    // The compared run is longer (264 µs): locked, the window may show all of it.
    view.chart()->set_window(150, 250);
    QCOMPARE(view.compared_chart()->window(), std::pair(150.0, 250.0));
    QCOMPARE(view.chart()->window(), std::pair(150.0, 250.0));
    view.compared_chart()->set_window(20, 60);
    QCOMPARE(view.chart()->window(), std::pair(20.0, 60.0));

    // Another run shown: the window is kept on both, still locked, the choice kept.
    view.show_loaded(hand_run(2, 1.2, 5));
    view.set_compare_choices({{7, "run7 (#7)"}, {8, "run8 (#8)"}}, 8);
    QCOMPARE(view.compared_run_id().value_or(-1), 7);
    view.show_compared(hand_run(7, 1.5, 5));
    QCOMPARE(view.chart()->window(), std::pair(20.0, 60.0));
    QCOMPARE(view.compared_chart()->window(), std::pair(20.0, 60.0));
    view.chart()->set_window(30, 70);
    QCOMPARE(view.compared_chart()->window(), std::pair(30.0, 70.0));
    // Locked, dropping the compared run leaves the shown run's window as it was; F fits both.
    view.show_compared(nullptr);
    QCOMPARE(view.chart()->window(), std::pair(30.0, 70.0));
    view.show_compared(hand_run(7, 1.5, 5));
    QCOMPARE(view.compared_chart()->window(), std::pair(30.0, 70.0));
    view.zoom_to_fit();
    QVERIFY(view.chart()->window().first <= 0 && view.chart()->window().second >= 264);
    QCOMPARE(view.compared_chart()->window(), view.chart()->window());
    view.chart()->set_window(30, 70);
    // "(nothing)" chosen stays chosen when the runs are offered again (the next run shown).
    auto* box = view.findChildren<QComboBox*>().back();
    QCOMPARE(box->itemText(0), QString("(nothing)"));
    QCOMPARE(box->focusPolicy(), Qt::NoFocus);  // W/A/S/D stay the view's
    box->setCurrentIndex(0);
    emit box->activated(0);
    QVERIFY(!view.compared_chart()->isVisible());
    view.set_compare_choices({{7, "run7 (#7)"}, {8, "run8 (#8)"}}, 7);
    QVERIFY(!view.compared_run_id().has_value());
    box->setCurrentIndex(1);
    emit box->activated(1);
    QCOMPARE(view.compared_run_id().value_or(-1), 7);
    view.show_compared(hand_run(7, 1.5, 5));
    QCOMPARE(view.compared_chart()->window(), std::pair(30.0, 70.0));

    // Unlocked, each chart keeps its own window.
    view.set_axes_locked(false);
    view.chart()->set_window(0, 50);
    QCOMPARE(view.compared_chart()->window(), std::pair(30.0, 70.0));
    // Zoom to fit fits both, each to its own run.
    view.zoom_to_fit();
    QVERIFY(view.compared_chart()->window().second > 264);
    QVERIFY(view.chart()->window().second < 220);

    // Nothing to compare with: the lower chart goes.
    view.set_compare_choices({}, std::nullopt);
    QVERIFY(!view.compared_chart()->isVisible());
    QVERIFY(view.timeline()->layer_notes().empty());
  }

  void zoom_is_kept_inside_sane_limits() {
    moescope::gui::TimelineView view;
    std::vector<moescope::profiler::Event> events(1);
    events[0].end_ns = 1000;
    events[0].expert = 0;
    view.show_run(events, {}, "composed");
    view.plot()->xAxis->setRange(-1e17, 1e17);
    QVERIFY(view.plot()->xAxis->range().size() <= 1e9);
    view.plot()->xAxis->setRange(0.5, 0.5 + 1e-9);
    QVERIFY(view.plot()->xAxis->range().size() >= 1e-3 * 0.999);
    view.plot()->replot();  // and it still draws
  }
};

QTEST_MAIN(TimelineTest)
#include "timeline_test.moc"
