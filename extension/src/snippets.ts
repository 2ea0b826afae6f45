// The code the panel inserts into notebooks: the public RustyBT API, as a user would type it.
import { AssetRow, BundleRow } from './api';

function pyString(value: string): string {
  return JSON.stringify(value); // a JSON string literal is a valid Python string literal
}

/** `catalog = Catalog(...)`: the default root unless the server was given its own. */
function catalogLine(root: string, explicit: boolean): string {
  return explicit ? `catalog = Catalog(${pyString(root)})` : 'catalog = Catalog()  # RUSTYBT_DATA_DIR or ~/.rustybt/data';
}

/** About a year of data ending at `end` (never before `start`). */
export function lastYear(start: string | null, end: string | null): [string, string] {
  const stop = (end ?? '').slice(0, 10);
  const from = new Date(stop + 'T00:00:00Z');
  from.setUTCFullYear(from.getUTCFullYear() - 1);
  let begin = from.toISOString().slice(0, 10);
  if (start && start.slice(0, 10) > begin) {
    begin = start.slice(0, 10);
  }
  return [begin, stop];
}

export function barsSnippet(bundle: BundleRow, asset: AssetRow | null, root: string, explicit: boolean): string {
  const symbol = asset ? asset.symbol : null;
  const [start, end] = asset ? lastYear(asset.start, asset.end) : lastYear(bundle.start, bundle.end);
  const symbols = symbol ? `[${pyString(symbol)}]` : 'None';
  return [
    'from rustybt import Catalog',
    '',
    catalogLine(root, explicit),
    `bars = catalog.bundle(${pyString(bundle.bundle)}).bars(${symbols}, start=${pyString(start)}, end=${pyString(end)})`,
    'bars'
  ].join('\n');
}

export function pipelineSnippet(bundle: BundleRow, root: string, explicit: boolean): string {
  const [start, end] = lastYear(bundle.start, bundle.end);
  return [
    'from rustybt import Catalog',
    'from rustybt.pipeline import Pipeline, run_pipeline',
    'from rustybt.pipeline.data import EquityPricing',
    'from rustybt.pipeline.factors import Returns, SimpleMovingAverage',
    '',
    catalogLine(root, explicit),
    'pipe = Pipeline(',
    '    columns={',
    '        "sma_20": SimpleMovingAverage(inputs=[EquityPricing.close], window_length=20),',
    '        "returns_5": Returns(window_length=5),',
    '    },',
    ')',
    `result = run_pipeline(pipe, ${pyString(start)}, ${pyString(end)}, bundle=catalog.bundle(${pyString(bundle.bundle)}))`,
    'result.tail()'
  ].join('\n');
}

export function showSnippet(bundle: BundleRow, asset: AssetRow | null): string {
  const symbol = asset ? asset.symbol : 'SYMBOL';
  return ['%load_ext rustybt', `%rustybt show ${bundle.bundle} ${symbol}`].join('\n');
}
