// The desktop app's speed targets:
//   - the load heatmap of 64 layers x 256 experts x 1000 steps: switching the selector
//     (kind, normalised, step view) and repainting, target under 50 ms;
//   - opening a session of 100 runs and showing the last one: time to first paint;
//   - selecting a run of a million timeline spans: the longest the GUI thread stops serving
//     events, target under 16 ms (one frame), and the time until every view shows the run.
// Run: build/release/tests/bench/app_bench (offscreen; no display needed).
#include <random>

#include <benchmark/benchmark.h>
#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>

#include "app/charts/timeline_plottable.h"
#include "app/gui/main_window.h"
#include "app/gui/views/heatmap_view.h"
#include "app/gui/views/timeline_view.h"
#include "app/viewdata/load_cube.h"
#include "core/exec/cpu_backend.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"

namespace {

using moescope::viewdata::LoadCube;
using moescope::viewdata::LoadKind;

LoadCube big_cube(int steps, int layers, int experts) {
  std::vector<int> ids(static_cast<std::size_t>(layers));
  for (int l = 0; l < layers; ++l)
    ids[static_cast<std::size_t>(l)] = l;
  LoadCube cube(steps, ids, experts);
  std::mt19937 rng(1);
  std::gamma_distribution<double> skew(0.8, 1.0);
  for (int s = 0; s < steps; ++s) {
    for (int l = 0; l < layers; ++l) {
      for (int e = 0; e < experts; ++e) {
        const auto routed = static_cast<std::int32_t>(skew(rng) * 64);
        const auto kept = std::min(routed, 64);
        cube.set(s, l, e, LoadKind::kRouted, routed);
        cube.set(s, l, e, LoadKind::kKept, kept);
        cube.set(s, l, e, LoadKind::kDropped, routed - kept);
      }
    }
  }
  for (int e = 0; e < experts; ++e)
    cube.set_device(e, e / (experts / 8));
  cube.finish();
  return cube;
}

// One switch = set the selection (new grid into the color map) and repaint the plot.
void BM_HeatmapSelectorSwitch(benchmark::State& state) {
  const bool step_view = state.range(0) != 0;
  moescope::gui::HeatmapView view;
  view.resize(1400, 800);
  view.show();
  view.show_loads(big_cube(1000, 64, 256));
  int i = 0;
  for (auto _ : state) {
    const auto kind = static_cast<LoadKind>(i % 4);
    const bool normalized = (i / 4) % 2 == 1;
    view.set_selection(kind, normalized, step_view ? std::optional<int>(i % 64) : std::nullopt);
    view.plot()->replot(QCustomPlot::rpImmediateRefresh);
    ++i;
  }
  state.SetLabel(step_view ? "steps x experts (1000 x 256)" : "layers x experts (64 x 256)");
}
BENCHMARK(BM_HeatmapSelectorSwitch)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_HeatmapBuildCube(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(big_cube(1000, 64, 256));
}
BENCHMARK(BM_HeatmapBuildCube)->Unit(benchmark::kMillisecond)->Iterations(2);

// 100 runs: 50 recorded pairs (baseline + drop) of OLMoE / 16, 256 tokens, 2 steps.
const std::string& hundred_run_session() {
  static QTemporaryDir dir;
  static const std::string path = [] {
    const std::string p = dir.filePath("hundred.moescope").toStdString();
    moescope::Experiment e;
    e.model.scale = 16;
    e.routing.tokens = 256;
    e.steps = 2;
    e.policies.kinds = {moescope::PolicyKind::kDrop};
    moescope::SessionStore store(p, moescope::SessionStore::Access::kWrite);
    const auto backend = moescope::make_cpu_backend();
    for (int i = 0; i < 50; ++i) {
      e.seed = static_cast<std::uint64_t>(i);
      moescope::record_experiment(store, e, *backend, nullptr, nullptr);
    }
    return p;
  }();
  return path;
}

// From constructing the window (which opens the session, reads its runs and loads the last
// run, off the GUI thread, into every view) to the first frame of the whole window rendered
// with that run.
void time_first_paint(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    moescope::gui::MainWindow window({path, /*demo_when_empty=*/false});
    window.show();
    QCoreApplication::processEvents();
    while (window.loading())
      QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    benchmark::DoNotOptimize(window.grab());
    state.PauseTiming();
    window.close();
    state.ResumeTiming();
  }
}

void BM_SessionTimeToFirstPaint(benchmark::State& state) {
  time_first_paint(state, hundred_run_session());
  state.SetLabel("100 runs");
}
BENCHMARK(BM_SessionTimeToFirstPaint)->Unit(benchmark::kMillisecond)->Iterations(5);

// The floor for the line above: the same window on an empty session (Qt's own start-up and
// the first frame of every widget).
void BM_EmptySessionTimeToFirstPaint(benchmark::State& state) {
  QTemporaryDir dir;
  time_first_paint(state, dir.filePath("empty.moescope").toStdString());
}
BENCHMARK(BM_EmptySessionTimeToFirstPaint)->Unit(benchmark::kMillisecond)->Iterations(5);

// A session whose first run has about a million timeline spans (OLMoE / 256, 64 tokens, the
// baseline alone, 900 steps x 16 layers: ~70 spans a layer, 922k expert-load rows) and whose
// last run is a small one, which the window shows when it opens.
struct MillionSpanSession {
  std::string path;
  std::int64_t big_run = 0;
};

const MillionSpanSession& million_span_session() {
  static QTemporaryDir dir;
  static const MillionSpanSession session = [] {
    MillionSpanSession out;
    out.path = dir.filePath("million.moescope").toStdString();
    moescope::Experiment e;
    e.model.scale = 256;
    e.routing.tokens = 64;
    e.steps = 900;
    e.policies.kinds = {};
    e.backend = "cpu";
    moescope::SessionStore store(out.path, moescope::SessionStore::Access::kWrite);
    const auto backend = moescope::make_cpu_backend();
    out.big_run = moescope::record_experiment(store, e, *backend, nullptr, nullptr)
                      .batches.front()
                      .run_ids.front();
    e.steps = 1;
    moescope::record_experiment(store, e, *backend, nullptr, nullptr);
    return out;
  }();
  return session;
}

// Selects the big run as a click would (from the event loop) and serves events until every
// view shows it, timing the gaps between turns of the event loop: the longest is the longest
// the window was frozen.
void BM_SelectMillionSpanRun(benchmark::State& state) {
  const MillionSpanSession& session = million_span_session();
  double worst_stall_ms = 0;
  double shown_ms = 0;
  std::size_t spans = 0;
  for (auto _ : state) {
    state.PauseTiming();
    moescope::gui::MainWindow window({session.path, /*demo_when_empty=*/false});
    window.tabs()->setCurrentIndex(static_cast<int>(state.range(0)));
    window.show();
    // Until the window has shown (and painted) the small run it opens on.
    while (window.loading())
      QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    QCoreApplication::processEvents();
    state.ResumeTiming();
    QElapsedTimer clock;
    clock.start();
    qint64 last_turn = 0;
    qint64 stall = 0;
    QTimer ticker;
    ticker.setInterval(0);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
      const qint64 now = clock.nsecsElapsed();
      stall = std::max(stall, now - last_turn);
      last_turn = now;
    });
    ticker.start();
    QTimer::singleShot(0, &window, [&] { window.select_runs({{session.path, session.big_run}}); });
    const auto shown = [&] {
      const auto* run = window.shown_run();
      return run != nullptr && run->run.id == session.big_run && !window.loading();
    };
    while (!shown() && clock.elapsed() < 60000)
      QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    ticker.stop();
    shown_ms = std::max(shown_ms, static_cast<double>(clock.nsecsElapsed()) / 1e6);
    worst_stall_ms = std::max(worst_stall_ms, static_cast<double>(stall) / 1e6);
    spans = window.timeline()->timeline()->data().span_count();
  }
  state.counters["longest_stall_ms"] = worst_stall_ms;
  state.counters["until_shown_ms"] = shown_ms;
  state.counters["spans"] = static_cast<double>(spans);
}
// With the Overview in front, and with the timeline in front (it then paints a million spans).
BENCHMARK(BM_SelectMillionSpanRun)
    ->ArgName("tab")
    ->Arg(0)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  // Keep the benchmark's window settings and recent files away from the user's.
  QTemporaryDir config;
  qputenv("XDG_CONFIG_HOME", config.path().toUtf8());
  QApplication app(argc, argv);
  QCoreApplication::setOrganizationName("MoEScopeBench");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
