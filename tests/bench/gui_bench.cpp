// Straggler timeline benchmarks: building the timeline of a million spans and drawing one
// 1600x900 frame of it, zoomed out and zoomed into 1 ms. A frame is meant to stay under 16 ms
// (60 Hz) on a 2-core machine with software rendering.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include <qcustomplot.h>
#include <QApplication>

#include "app/charts/timeline_plottable.h"
#include "app/viewdata/load_cube.h"
#include "app/viewdata/timeline_spans.h"

namespace moescope {
namespace {

using profiler::Event;
using profiler::Phase;

constexpr int kDevices = 8;
constexpr int kExperts = 64;  // 8 per device
constexpr int kLayersPerStep = 16;

// Composed layers as core/layer_timeline.cpp lays them: dispatch, then each device's shared
// expert and its experts back to back, then combine after the slowest device; expert times
// skewed (a few hot experts), tens of microseconds, so a layer lasts about a millisecond.
std::vector<Event> make_events(std::size_t count) {
  std::vector<Event> events;
  events.reserve(count + kExperts + 3 * kDevices);
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> expert_us(3.0, 0.6);  // median 20 µs
  std::int64_t clock = 0;
  for (int slot = 0; events.size() < count; ++slot) {
    const int step = slot / kLayersPerStep;
    const int layer = slot % kLayersPerStep;
    std::int64_t dispatch = 0;
    for (int d = 0; d < kDevices; ++d) {
      const std::int64_t ns = 20'000 + static_cast<std::int64_t>(rng() % 10'000);
      events.push_back({clock, clock + ns, d, 0, step, layer, -1, Phase::kDispatch});
      dispatch = std::max(dispatch, ns);
    }
    std::int64_t slowest = 0;
    for (int d = 0; d < kDevices; ++d) {
      std::int64_t t = clock + dispatch;
      events.push_back({t, t + 15'000, d, 0, step, layer, -1, Phase::kSharedExpert});
      t += 15'000;
      for (int e = d * (kExperts / kDevices); e < (d + 1) * (kExperts / kDevices); ++e) {
        const auto ns = static_cast<std::int64_t>(expert_us(rng) * 1000);
        events.push_back({t, t + ns, d, 0, step, layer, e, Phase::kExpert});
        t += ns;
      }
      slowest = std::max(slowest, t);
    }
    std::int64_t combine = 0;
    for (int d = 0; d < kDevices; ++d) {
      const std::int64_t ns = 25'000 + static_cast<std::int64_t>(rng() % 10'000);
      events.push_back({slowest, slowest + ns, d, 0, step, layer, -1, Phase::kCombine});
      combine = std::max(combine, ns);
    }
    clock = slowest + combine;
  }
  return events;
}

const std::vector<Event>& events_of(std::size_t count) {
  static std::map<std::size_t, std::vector<Event>> cache;
  auto it = cache.find(count);
  if (it == cache.end()) it = cache.emplace(count, make_events(count)).first;
  return it->second;
}

std::shared_ptr<const viewdata::TimelineData> data_of(std::size_t count) {
  static std::map<std::size_t, std::shared_ptr<const viewdata::TimelineData>> cache;
  auto it = cache.find(count);
  if (it == cache.end()) {
    it = cache
             .emplace(count, std::make_shared<const viewdata::TimelineData>(
                                 viewdata::TimelineData::build(events_of(count), {})))
             .first;
  }
  return it->second;
}

void BM_TimelineBuild(benchmark::State& state) {
  const auto& events = events_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto data = viewdata::TimelineData::build(events, {});
    benchmark::DoNotOptimize(data);
  }
  state.counters["spans"] = static_cast<double>(events.size());
}

// The level-of-detail part of a frame alone: the draw lists of every row at 1600 px.
void BM_TimelineFold(benchmark::State& state) {
  const auto data = data_of(static_cast<std::size_t>(state.range(0)));
  const std::int64_t middle = (data->start_ns() + data->end_ns()) / 2;
  const std::int64_t t0 = state.range(1) > 0 ? middle - state.range(1) * 500 : data->start_ns();
  const std::int64_t t1 = state.range(1) > 0 ? middle + state.range(1) * 500 : data->end_ns();
  std::vector<viewdata::DrawItem> items;
  std::size_t drawn = 0;
  for (auto _ : state) {
    drawn = 0;
    for (const int lane : data->rows(state.range(2) != 0)) {
      viewdata::fold_spans(data->lanes()[static_cast<std::size_t>(lane)], t0, t1, 1600, items);
      drawn += items.size();
    }
    benchmark::DoNotOptimize(drawn);
  }
  state.counters["items"] = static_cast<double>(drawn);
}

// Kept rows for every (step, layer, expert) of the run, skewed like the times: what colouring by
// load looks up per span.
std::shared_ptr<const viewdata::LoadCube> loads_of(const viewdata::TimelineData& data) {
  const int steps = data.layers().back().step + 1;
  std::vector<int> layers(kLayersPerStep);
  for (int l = 0; l < kLayersPerStep; ++l)
    layers[static_cast<std::size_t>(l)] = l;
  viewdata::LoadCube cube(steps, layers, kExperts);
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> rows(4.0, 0.6);
  for (int s = 0; s < steps; ++s) {
    for (int l = 0; l < kLayersPerStep; ++l) {
      for (int e = 0; e < kExperts; ++e)
        cube.set(s, l, e, viewdata::LoadKind::kKept, static_cast<std::int32_t>(rows(rng)));
    }
  }
  cube.finish();
  return std::make_shared<const viewdata::LoadCube>(std::move(cube));
}

// range(0): spans; range(1): the window in µs, 0 for the whole run; range(2): expanded;
// range(3): colouring (0 by expert, 1 by device, 2 by load).
void BM_TimelineFrame(benchmark::State& state) {
  const auto data = data_of(static_cast<std::size_t>(state.range(0)));
  QCustomPlot plot;
  plot.resize(1600, 900);
  auto* timeline = charts::setup_timeline_plot(plot, data, "composed", state.range(2) != 0);
  const auto coloring = static_cast<charts::SpanColoring>(state.range(3));
  if (coloring == charts::SpanColoring::kByLoad) timeline->set_loads(loads_of(*data));
  timeline->set_coloring(coloring);
  if (state.range(1) > 0) {
    const double middle = static_cast<double>(data->start_ns() + data->end_ns()) / 2 / 1e3;
    const auto half = static_cast<double>(state.range(1)) / 2;
    plot.xAxis->setRange(middle - half, middle + half);
  }
  for (auto _ : state) {
    QPixmap frame = plot.toPixmap(1600, 900);
    benchmark::DoNotOptimize(frame);
  }
  state.counters["rows"] = static_cast<double>(timeline->rows().size());
}

// The floor under every frame: QCustomPlot drawing its axes into a 1600x900 pixmap.
void BM_EmptyPlotFrame(benchmark::State& state) {
  QCustomPlot plot;
  plot.resize(1600, 900);
  for (auto _ : state) {
    QPixmap frame = plot.toPixmap(1600, 900);
    benchmark::DoNotOptimize(frame);
  }
}

BENCHMARK(BM_EmptyPlotFrame)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TimelineBuild)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_TimelineFold)
    ->ArgNames({"spans", "window_us", "expanded"})
    ->Args({1'000'000, 0, 0})
    ->Args({1'000'000, 1000, 0})
    ->Args({1'000'000, 0, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TimelineFrame)
    ->ArgNames({"spans", "window_us", "expanded", "coloring"})
    ->Args({1'000'000, 0, 0, 0})
    ->Args({1'000'000, 1000, 0, 0})
    ->Args({1'000'000, 0, 1, 0})
    ->Args({1'000'000, 1000, 1, 0})
    ->Args({1'000'000, 0, 0, 1})
    ->Args({1'000'000, 1000, 0, 1})
    ->Args({1'000'000, 0, 0, 2})
    ->Args({1'000'000, 1000, 0, 2})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TimelineFrame)
    ->Name("BM_TimelineSmoke")
    ->Args({10'000, 0, 1, 2})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moescope

// QCustomPlot needs a QApplication; the offscreen platform draws without a display.
int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
