// The RustyBT JupyterLab plugin: a catalog panel in the left sidebar, charts in the main area, code inserted into
// the active notebook (a new one when none is open).
import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { AssetRow, Bars } from './api';
import { lineChart } from './chart';
import { CatalogPanel } from './panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
  '<rect x="3" y="13" width="3" height="7" rx="0.5"/><rect x="8.5" y="8" width="3" height="12" rx="0.5"/>' +
  '<rect x="14" y="11" width="3" height="9" rx="0.5"/><path d="M2 9.5 7.5 5l4.5 3L21 2.5l.9 1.4-9.9 6.2-4.4-2.9L3.2 11z"/></g></svg>';

export const rustybtIcon = new LabIcon({ name: 'rustybt:catalog', svgstr: ICON_SVG });

/** The active notebook, or a new one (with its kernel) when none is open. */
async function targetNotebook(app: JupyterFrontEnd, tracker: INotebookTracker | null): Promise<NotebookPanel> {
  let panel = tracker?.currentWidget ?? null;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new', { kernelName: 'python3' })) as NotebookPanel;
  }
  await panel.context.ready;
  return panel;
}

function insertInto(panel: NotebookPanel, code: string): void {
  const notebook = panel.content;
  const active = notebook.activeCell;
  if (!active || active.model.sharedModel.getSource().trim() !== '') {
    NotebookActions.insertBelow(notebook);
  }
  const cell = notebook.activeCell;
  if (!cell) {
    throw new Error('the notebook has no cell to write into');
  }
  cell.model.sharedModel.setSource(code);
  notebook.activate();
}

function chartWidget(bundle: string, asset: AssetRow, bars: Bars): MainAreaWidget {
  const content = new Widget();
  content.addClass('rbt-chart-panel');
  const title = document.createElement('h3');
  title.textContent = `${bundle} · ${asset.symbol} · close (raw, unadjusted)`;
  const note = document.createElement('div');
  note.className = 'rbt-facts';
  const shown = bars.step > 1 ? `, 1 in ${bars.step} shown` : '';
  note.textContent = `${bars.rows.toLocaleString('en-US')} bars ${bars.timestamp[0]?.slice(0, 10)} → ${bars.timestamp[bars.timestamp.length - 1]?.slice(0, 10)}${shown}`;
  content.node.append(title, lineChart(bars), note);
  const widget = new MainAreaWidget({ content });
  widget.id = `rustybt-chart-${bundle}-${asset.sid}`;
  widget.title.label = `${asset.symbol} (${bundle})`;
  widget.title.icon = rustybtIcon;
  widget.title.closable = true;
  return widget;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'rustybt-labextension:plugin',
  description: 'RustyBT catalog side panel: bundles, assets, charts, verify and ingest.',
  autoStart: true,
  requires: [ILabShell],
  optional: [INotebookTracker, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const panel = new CatalogPanel({
      insertCode: async (code: string) => insertInto(await targetNotebook(app, tracker), code),
      openChart: (bundle, asset, bars) => {
        const widget = chartWidget(bundle, asset, bars);
        // the same asset's chart again (e.g. after a re-ingest) replaces the old tab
        Array.from(shell.widgets('main'))
          .find(w => w.id === widget.id)
          ?.dispose();
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });
    panel.title.icon = rustybtIcon;
    panel.title.caption = 'RustyBT catalog';
    shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'rustybt-catalog'); // the sidebar reopens on the panel after a reload
    app.commands.addCommand('rustybt:open', {
      label: 'RustyBT: Show Catalog',
      execute: () => shell.activateById(panel.id)
    });
    app.commands.addCommand('rustybt:refresh', {
      label: 'RustyBT: Refresh Catalog',
      execute: () => panel.refresh()
    });
    palette?.addItem({ command: 'rustybt:open', category: 'RustyBT' });
    palette?.addItem({ command: 'rustybt:refresh', category: 'RustyBT' });
  }
};

export default plugin;
