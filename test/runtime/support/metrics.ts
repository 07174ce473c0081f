// Scrapes a running job's /metrics and parses it with a Prometheus text-format parser (a port of the
// Python client's). Its one limit: a histogram's series are merged into one sample without labels
// (buckets by `le`, the last series' counts win), so tests read histograms with one series only.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { ParsedFamily, ParsedSample } from 'parse-prometheus-text-format';

/** A scrape: the metric families by name. */
export class Scrape {
  readonly families: ReadonlyMap<string, ParsedFamily>;
  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  }

  family(name: string): ParsedFamily {
    const family = this.families.get(name);
    if (family === undefined) throw new Error(`no metric ${name} in the scrape:\n${this.text}`);
    return family;
  }

  /** The samples of `name` whose labels include `labels`. */
  samples(name: string, labels: Readonly<Record<string, string>> = {}): ParsedSample[] {
    return this.family(name).metrics.filter((sample) =>
      Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v),
    );
  }

  /** The sum of the values of `name` over samples matching `labels` (undefined when none matches). */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
    const samples = this.samples(name, labels);
    if (samples.length === 0) return undefined;
    return samples.reduce((sum, sample) => sum + Number(sample.value), 0);
  }

  /** The observations of a histogram with one series (its `+Inf` bucket). */
  observations(name: string): number {
    const family = this.family(name);
    if (family.type !== 'HISTOGRAM' || family.metrics.length !== 1)
      throw new Error(`${name} is not a histogram with one series`);
    return Number(family.metrics[0]!.buckets?.['+Inf']);
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}: ${await response.text()}`);
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`GET /metrics content type ${type}`);
  return new Scrape(await response.text());
}
