// Help > Metric glossary: every metric with its unit, which way is better, its spread and its
// meaning, and the timeline's terms; non-modal, so it stays open beside the views.
#pragma once

class QWidget;
class QDialog;

namespace moescope::gui {

QDialog* make_glossary_dialog(QWidget* parent);

}  // namespace moescope::gui
