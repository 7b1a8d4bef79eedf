#include "app/gui/glossary_dialog.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "app/viewdata/metric_glossary.h"

namespace moescope::gui {

QDialog* make_glossary_dialog(QWidget* parent) {
  auto* dialog = new QDialog(parent);
  dialog->setObjectName("glossary");
  dialog->setWindowTitle(QObject::tr("Metric glossary"));
  auto* layout = new QVBoxLayout(dialog);
  auto* text = new QTextBrowser(dialog);
  text->setHtml(QString::fromStdString(viewdata::glossary_html()));
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
  QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
  layout->addWidget(buttons);
  dialog->resize(900, 640);
  return dialog;
}

}  // namespace moescope::gui
