// The left-sidebar panel: the catalog's bundles; a bundle's ingestions, actions and paged asset list; an asset's
// sparkline. Plain DOM inside a Lumino widget: every view is rebuilt from the API's JSON.
import { Widget } from '@lumino/widgets';

import { APIError, AssetPage, AssetRow, BundleList, BundleRow, IngestionRow, Job, VerifyResult, bundlePath, requestAPI, Bars } from './api';
import { sparkline } from './chart';
import { barsSnippet, pipelineSnippet, showSnippet } from './snippets';

const PAGE = 50;

/** What the panel asks of the application (kept out of the panel so it stays testable and small). */
export interface IPanelHost {
  insertCode(code: string): Promise<void>;
  openChart(bundle: string, asset: AssetRow, bars: Bars): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls = '',
  text = '',
  attrs: Record<string, string> = {}
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text) {
    node.textContent = text;
  }
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, value);
  }
  return node;
}

function button(label: string, title: string, onClick: () => void, action = ''): HTMLButtonElement {
  const b = el('button', 'rbt-button jp-mod-styled', label, { title, type: 'button' });
  if (action) {
    b.dataset.action = action;
  }
  b.addEventListener('click', onClick);
  return b;
}

function day(value: string | null): string {
  return value ? value.slice(0, 10) : '-';
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The quality badge: ok / warning / error / empty, with the validation counts as its tooltip. */
function badge(row: BundleRow): HTMLSpanElement {
  const title = `validation of the live ingestion: ${row.errors} errors, ${row.warnings} warnings, ${row.dropped} rows dropped`;
  return el('span', `rbt-badge rbt-badge-${row.quality}`, row.quality, { title });
}

function message(error: unknown): string {
  return error instanceof APIError ? error.message : String(error);
}

export class CatalogPanel extends Widget {
  private list: BundleList | null = null;
  private current: BundleRow | null = null;
  private query = '';
  private offset = 0;
  private readonly body: HTMLDivElement;
  private readonly rootLine: HTMLDivElement;
  private polling = new Set<string>();

  constructor(private readonly host: IPanelHost) {
    super();
    this.id = 'rustybt-catalog';
    this.addClass('rbt-panel');
    const header = el('div', 'rbt-header');
    header.append(el('span', 'rbt-title', 'RustyBT catalog'), button('Refresh', 'Reload from the catalog', () => void this.refresh(), 'refresh'));
    this.rootLine = el('div', 'rbt-root');
    this.body = el('div', 'rbt-body');
    this.node.append(header, this.rootLine, this.body);
  }

  /** The first time the panel is shown, load the catalog (not at JupyterLab start-up). */
  protected onAfterShow(): void {
    if (!this.list) {
      void this.refresh();
    }
  }

  /** Reload the bundle list (and the open bundle, if any). */
  async refresh(): Promise<void> {
    const started = performance.now();
    try {
      this.list = await requestAPI<BundleList>('bundles');
    } catch (error) {
      this.showError(this.body, error);
      return;
    }
    this.rootLine.textContent = this.list.root;
    this.rootLine.title = `catalog root: ${this.list.root}`;
    if (this.current) {
      const fresh = this.list.bundles.find(b => b.bundle === this.current?.bundle);
      this.current = fresh ?? null;
    }
    if (this.current) {
      await this.showBundle(this.current);
    } else {
      this.showList();
    }
    for (const job of this.list.jobs) {
      void this.poll(job);
    }
    this.node.dataset.loadMs = String(Math.round(performance.now() - started));
  }

  private showError(where: HTMLElement, error: unknown): void {
    where.replaceChildren(el('div', 'rbt-error', message(error)));
  }

  private showList(): void {
    const list = this.list;
    this.current = null;
    if (!list) {
      return;
    }
    if (!list.bundles.length) {
      this.body.replaceChildren(el('div', 'rbt-empty', 'No bundles yet: register and ingest one (catalog.register, rustybt ingest).'));
      return;
    }
    const items = list.bundles.map(row => {
      const item = el('div', 'rbt-bundle', '', { 'data-bundle': row.bundle, role: 'button', tabindex: '0' });
      const top = el('div', 'rbt-row');
      top.append(el('span', 'rbt-name', row.bundle), badge(row));
      const facts = el('div', 'rbt-facts', `${row.resolution} · ${row.calendar} · ${count(row.assets)} assets · ${count(row.rows)} rows`);
      const range = el('div', 'rbt-facts', `${day(row.start)} → ${day(row.end)} · ingested ${day(row.last_ingest)}`);
      item.append(top, facts, range);
      item.addEventListener('click', () => void this.showBundle(row, true));
      return item;
    });
    this.body.replaceChildren(...items);
  }

  private async showBundle(row: BundleRow, fresh = false): Promise<void> {
    this.current = row;
    if (fresh) {
      this.query = '';
      this.offset = 0;
    }
    const view = el('div', 'rbt-detail', '', { 'data-bundle': row.bundle });
    const top = el('div', 'rbt-row');
    top.append(button('←', 'Back to the bundles', () => this.showList(), 'back'), el('span', 'rbt-name', row.bundle), badge(row));
    const facts = el('div', 'rbt-facts', `${row.resolution} · ${row.calendar} · ${count(row.assets)} assets · ${count(row.rows)} rows · ${day(row.start)} → ${day(row.end)}`);
    const root = this.list?.root ?? '';
    const explicit = this.list?.root_explicit ?? false;
    const actions = el('div', 'rbt-actions');
    const status = el('div', 'rbt-status', '', { 'aria-live': 'polite' });
    actions.append(
      button('Insert bars', 'Insert code reading bars into the active notebook', () => void this.insert(barsSnippet(row, null, root, explicit), status), 'insert-bars'),
      button('Insert pipeline', 'Insert a run_pipeline skeleton for this bundle', () => void this.insert(pipelineSnippet(row, root, explicit), status), 'insert-pipeline'),
      button('Verify', 'Recompute every checksum of the live ingestion', () => void this.verify(row, status), 'verify'),
      button('Re-ingest', 'Ingest the bundle again from its source (the live ingestion stays until the new one passes)', () => void this.ingest(row, status), 'ingest')
    );
    const ingestions = el('details', 'rbt-ingestions');
    ingestions.append(el('summary', '', 'Ingestions'));
    const search = el('input', 'rbt-search jp-mod-styled', '', { type: 'search', placeholder: 'Search symbols', 'aria-label': 'Search symbols' });
    search.value = this.query;
    const assets = el('div', 'rbt-assets');
    const asset = el('div', 'rbt-asset');
    let timer = 0;
    search.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        this.query = search.value;
        this.offset = 0;
        void this.loadAssets(row, assets, asset, status);
      }, 200);
    });
    view.append(top, facts, actions, status, ingestions, search, assets, asset);
    this.body.replaceChildren(view);
    const running = this.list?.jobs.find(j => j.bundle === row.bundle);
    if (running) {
      this.showJob(running, status);
    }
    await Promise.all([this.loadIngestions(row, ingestions), this.loadAssets(row, assets, asset, status)]);
  }

  private async loadIngestions(row: BundleRow, box: HTMLDetailsElement): Promise<void> {
    try {
      const { ingestions } = await requestAPI<{ ingestions: IngestionRow[] }>(bundlePath(row.bundle, 'ingestions'));
      const lines = ingestions
        .slice()
        .reverse()
        .map(i => {
          const quality = i.errors ? `${i.errors} errors` : i.warnings ? `${i.warnings} warnings` : 'ok';
          return el('div', `rbt-ingestion${i.live ? ' rbt-live' : ''}`, `${i.live ? '● ' : ''}${i.id} · ${i.mode} · ${count(i.rows)} rows · ${quality}`);
        });
      box.querySelector('summary')!.textContent = `Ingestions (${ingestions.length})`;
      box.append(...lines);
    } catch (error) {
      box.append(el('div', 'rbt-error', message(error)));
    }
  }

  private async loadAssets(row: BundleRow, box: HTMLElement, assetBox: HTMLElement, status: HTMLElement): Promise<void> {
    let page: AssetPage;
    try {
      page = await requestAPI<AssetPage>(bundlePath(row.bundle, 'assets'), { q: this.query, offset: this.offset, limit: PAGE });
    } catch (error) {
      this.showError(box, error);
      return;
    }
    const t0 = row.start ? Date.parse(row.start) : 0;
    const t1 = row.end ? Date.parse(row.end) : 1;
    const span = Math.max(t1 - t0, 1);
    const rows = page.assets.map(a => {
      const line = el('div', 'rbt-asset-row', '', { 'data-symbol': a.symbol, role: 'button', tabindex: '0', title: `${a.symbol}: ${day(a.start)} → ${day(a.end)}, ${count(a.rows)} bars` });
      const cover = el('span', 'rbt-coverage');
      const fill = el('span', 'rbt-coverage-fill');
      fill.style.left = `${(100 * (Date.parse(a.start) - t0)) / span}%`;
      fill.style.width = `${Math.max((100 * (Date.parse(a.end) - Date.parse(a.start))) / span, 1)}%`;
      cover.append(fill);
      line.append(el('span', 'rbt-symbol', a.symbol), cover, el('span', 'rbt-count', count(a.rows)));
      line.addEventListener('click', () => void this.showAsset(row, a, assetBox, status));
      return line;
    });
    const pager = el('div', 'rbt-pager');
    const last = Math.min(page.offset + page.limit, page.total);
    const prev = button('‹', 'Previous page', () => {
      this.offset = Math.max(0, this.offset - PAGE);
      void this.loadAssets(row, box, assetBox, status);
    }, 'prev');
    const next = button('›', 'Next page', () => {
      this.offset += PAGE;
      void this.loadAssets(row, box, assetBox, status);
    }, 'next');
    prev.disabled = page.offset === 0;
    next.disabled = last >= page.total;
    pager.append(prev, el('span', 'rbt-range', page.total ? `${page.offset + 1}–${last} of ${count(page.total)}` : 'no match'), next);
    box.replaceChildren(...rows, pager);
  }

  private async showAsset(row: BundleRow, asset: AssetRow, box: HTMLElement, status: HTMLElement): Promise<void> {
    box.replaceChildren(el('div', 'rbt-facts', `Loading ${asset.symbol}…`));
    let bars: Bars;
    try {
      bars = await requestAPI<Bars>(bundlePath(row.bundle, 'bars'), { symbol: asset.symbol, limit: 240 });
    } catch (error) {
      this.showError(box, error);
      return;
    }
    const root = this.list?.root ?? '';
    const explicit = this.list?.root_explicit ?? false;
    const last = bars.close[bars.close.length - 1];
    const head = el('div', 'rbt-row');
    head.append(el('span', 'rbt-name', asset.symbol), el('span', 'rbt-facts', `${asset.asset_class} · ${day(asset.start)} → ${day(asset.end)} · last close ${last ?? '-'}`));
    const actions = el('div', 'rbt-actions');
    actions.append(
      button('Insert bars', `Insert code reading ${asset.symbol}'s bars`, () => void this.insert(barsSnippet(row, asset, root, explicit), status), 'insert-asset-bars'),
      button('Insert %rustybt show', 'Insert the %rustybt show magic for this asset', () => void this.insert(showSnippet(row, asset), status), 'insert-show'),
      button('Open chart', 'Open a chart of the closes in the main area', () => void this.openChart(row, asset, status), 'open-chart')
    );
    box.replaceChildren(head, sparkline(bars), actions);
    box.dataset.symbol = asset.symbol;
  }

  private async openChart(row: BundleRow, asset: AssetRow, status: HTMLElement): Promise<void> {
    try {
      const bars = await requestAPI<Bars>(bundlePath(row.bundle, 'bars'), { symbol: asset.symbol, limit: 2000 });
      this.host.openChart(row.bundle, asset, bars);
    } catch (error) {
      status.replaceChildren(el('div', 'rbt-error', message(error)));
    }
  }

  private async insert(code: string, status: HTMLElement): Promise<void> {
    try {
      await this.host.insertCode(code);
      status.replaceChildren(el('div', 'rbt-ok', 'Code inserted into the notebook.'));
    } catch (error) {
      status.replaceChildren(el('div', 'rbt-error', message(error)));
    }
  }

  private async verify(row: BundleRow, status: HTMLElement): Promise<void> {
    status.replaceChildren(el('div', 'rbt-facts', `Verifying ${row.bundle}…`));
    try {
      const r = await requestAPI<VerifyResult>(bundlePath(row.bundle, 'verify'), {}, { method: 'POST' });
      const text = r.ok
        ? `Verified ${r.files_checked} files of ${r.ingestion}: all checksums match.`
        : `${r.problems.length} problem(s) in ${r.ingestion}: ` + r.problems.map(p => `${p.path}: ${p.problem}`).join('; ');
      status.replaceChildren(el('div', r.ok ? 'rbt-ok' : 'rbt-error', text));
    } catch (error) {
      status.replaceChildren(el('div', 'rbt-error', message(error)));
    }
  }

  private async ingest(row: BundleRow, status: HTMLElement): Promise<void> {
    try {
      const job = await requestAPI<Job>(bundlePath(row.bundle, 'ingest'), {}, { method: 'POST' });
      this.showJob(job, status);
      await this.poll(job, status);
    } catch (error) {
      status.replaceChildren(el('div', 'rbt-error', message(error)));
    }
  }

  /** Poll a job until it ends, showing its progress in `status` (or in the open bundle's status line). */
  private async poll(job: Job, status?: HTMLElement): Promise<void> {
    if (this.polling.has(job.id)) {
      return;
    }
    this.polling.add(job.id);
    const target = (): HTMLElement | null =>
      status?.isConnected ? status : this.current?.bundle === job.bundle ? this.body.querySelector('.rbt-status') : null;
    try {
      while (job.state === 'queued' || job.state === 'running') {
        await new Promise(resolve => setTimeout(resolve, 500));
        try {
          job = await requestAPI<Job>(`jobs/${job.id}`);
        } catch (error) {
          const where = target();
          where?.replaceChildren(el('div', 'rbt-error', message(error)));
          return;
        }
        const where = target();
        if (where) {
          this.showJob(job, where);
        }
      }
    } finally {
      this.polling.delete(job.id);
    }
    if (job.state === 'succeeded') {
      await this.refresh();
      const where = target();
      if (where) {
        this.showJob(job, where);
      }
    }
  }

  private showJob(job: Job, status: HTMLElement): void {
    const box = el('div', `rbt-job rbt-job-${job.state}`, '', { 'data-state': job.state });
    const { done, total } = job.progress;
    if (job.state === 'queued' || job.state === 'running') {
      const bar = el('progress', 'rbt-progress');
      if (total) {
        bar.max = total;
        bar.value = done;
      }
      box.append(el('div', '', `Ingesting ${job.bundle}: ${total ? `${done}/${total} symbols` : job.state} · ${job.elapsed_s.toFixed(1)} s`), bar);
    } else if (job.state === 'succeeded' && job.result) {
      const r = job.result;
      box.append(el('div', 'rbt-ok', `Ingested ${job.bundle}: ${r.ingestion} is live · ${count(r.rows)} rows, ${r.assets} assets, ${r.errors} errors, ${r.warnings} warnings · ${job.elapsed_s.toFixed(1)} s`));
    } else if (job.error) {
      const kept = job.live_before ? `ingestion ${job.live_before} stays live` : 'the bundle has no ingestion yet';
      box.append(el('div', 'rbt-error', `Ingest of ${job.bundle} failed (${job.error.type}); ${kept}.`));
      const detail = job.error.report ? job.error.report.summary : job.error.message;
      box.append(el('pre', 'rbt-report', detail));
    }
    status.replaceChildren(box);
  }
}
