#include "app/viewdata/metric_glossary.h"

#include <sstream>

#include "app/viewdata/html_escape.h"

namespace moescope::viewdata {

namespace {

// The words a timeline and a report use besides the metrics.
constexpr std::pair<const char*, const char*> kTerms[] = {
    {"Straggler",
     "The device whose experts finish a layer's expert phase last; every other device "
     "waits for it at the combine."},
    {"Idle, waiting",
     "Time a device spends at the barrier after its own experts, waiting for the "
     "layer's straggler (hatched red in the timeline)."},
    {"Critical path",
     "The spans a layer's latency is made of: routing and policy, the dispatch and "
     "combine each barrier waits for, and the straggler's experts."},
    {"Composed timeline",
     "Each expert timed alone on this machine and laid out per virtual device "
     "as an expert-parallel layer would run them."},
    {"Measured timeline", "One process (rank) per device under mpirun: the waiting is real."},
    {"Modeled timeline", "Expert times predicted from the loads by this machine's cost model."},
    {"No significant change", "A speedup whose 95% interval holds 1, or that was timed once."},
    {"Same work",
     "A policy run that kept the baseline's pairs in every layer: its times are the "
     "baseline's."},
    {"Capacity",
     "The most rows an expert takes in a layer: gamma times the mean load (per source "
     "device when the capacity scope is local)."},
};

}  // namespace

std::string better_text(const MetricInfo& metric) {
  switch (metric.better) {
    case Better::kHigher:
      return "higher is better";
    case Better::kLower:
      return "lower is better";
    case Better::kNeither:
      return "";
  }
  return "";
}

std::string spread_kind_text(const MetricInfo& metric) {
  switch (metric.spread) {
    case Spread::kExact:
      return "exact: the same on every rerun";
    case Spread::kInterval:
      return "timed: median and 95% interval over the repeats";
    case Spread::kMedianRepeat:
      return "timed: from each layer's median repeat";
    case Spread::kOnce:
      return "timed once per layer";
  }
  return "";
}

std::string glossary_html() {
  std::ostringstream out;
  out << "<h3>Metrics</h3>\n<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">\n"
      << "<tr><th align=\"left\">Metric</th><th align=\"left\">Unit</th>"
      << "<th align=\"left\">Better</th><th align=\"left\">Spread</th>"
      << "<th align=\"left\">Meaning</th></tr>\n";
  for (const MetricInfo& m : metric_table()) {
    out << "<tr><td><b>" << html_escape(m.label) << "</b></td><td>" << html_escape(m.unit)
        << "</td><td>" << better_text(m) << "</td><td>" << spread_kind_text(m) << "</td><td>"
        << html_escape(m.description) << "</td></tr>\n";
  }
  out << "</table>\n<h3>Timeline and report terms</h3>\n<table border=\"1\" cellspacing=\"0\" "
         "cellpadding=\"4\">\n";
  for (const auto& [term, meaning] : kTerms)
    out << "<tr><td><b>" << html_escape(term) << "</b></td><td>" << html_escape(meaning)
        << "</td></tr>\n";
  out << "</table>\n";
  return out.str();
}

}  // namespace moescope::viewdata
