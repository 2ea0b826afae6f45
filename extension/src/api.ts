// Calls to the RustyBT server extension (/rustybt/api/...) through Jupyter's ServerConnection, which adds the
// token and the XSRF header the server requires.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface BundleRow {
  bundle: string;
  adapter: string;
  calendar: string;
  resolution: string;
  assets: number;
  rows: number;
  start: string | null;
  end: string | null;
  size_bytes: number;
  last_ingest: string | null;
  ingestion: string | null;
  errors: number;
  warnings: number;
  dropped: number;
  quality: 'ok' | 'warning' | 'error' | 'empty';
}

export interface BundleList {
  root: string;
  root_explicit: boolean;
  bundles: BundleRow[];
  jobs: Job[];
}

export interface IngestionRow {
  id: string;
  created_at: string;
  mode: string;
  rows: number;
  assets: number;
  start: string | null;
  end: string | null;
  size_bytes: number;
  duration_s: number;
  errors: number;
  warnings: number;
  dropped: number;
  live: boolean;
}

export interface AssetRow {
  sid: number;
  symbol: string;
  asset_class: string;
  start: string;
  end: string;
  rows: number;
}

export interface AssetPage {
  bundle: string;
  q: string;
  total: number;
  offset: number;
  limit: number;
  assets: AssetRow[];
}

export interface Bars {
  bundle: string;
  symbol: string;
  rows: number;
  step: number;
  timestamp: string[];
  open: (number | null)[];
  high: (number | null)[];
  low: (number | null)[];
  close: (number | null)[];
  volume: (number | null)[];
}

export interface VerifyResult {
  bundle: string;
  ingestion: string;
  ok: boolean;
  files_checked: number;
  problems: { path: string; problem: string; detail: string }[];
}

export interface Job {
  id: string;
  bundle: string;
  kind: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  elapsed_s: number;
  progress: { done: number; total: number | null };
  live_before: string | null;
  result: { ingestion: string; rows: number; assets: number; errors: number; warnings: number } | null;
  error: {
    type: string;
    message: string;
    report: { errors: number; warnings: number; rows_checked: number; summary: string } | null;
  } | null;
}

/** An error answer of the API: HTTP status, error type and the catalog's message. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined>;

/** GET (or POST with `method`) `/rustybt/api/<path>`; resolves to the JSON answer, rejects with APIError. */
export async function requestAPI<T>(path: string, query: Query = {}, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') {
      params[key] = String(value);
    }
  }
  const url = URLExt.join(settings.baseUrl, 'rustybt', 'api', path) + URLExt.objectToQueryString(params);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(0, 'NetworkError', `the Jupyter server did not answer: ${error}`);
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    throw new APIError(response.status, data?.error ?? 'Error', data?.message ?? response.statusText);
  }
  return data as T;
}

/** `bundles/<name>/<rest>` with the name escaped. */
export function bundlePath(name: string, rest = ''): string {
  return `bundles/${encodeURIComponent(name)}${rest ? '/' + rest : ''}`;
}
