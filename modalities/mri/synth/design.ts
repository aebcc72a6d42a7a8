/**
 * The ground truth of a synthetic cohort: subjects (sex, site, diagnosis, age, progression rate) and, per visit,
 * the exact effect magnitudes and acquisition parameters of each scan. Pure and seeded: the same options give
 * the same design, whatever renders it.
 *
 * Effects (mm; all ≥ 0). With a = baseline_age + δ + rate·t (δ ~ N(0, 2) a hidden per-subject brain-age offset,
 * t = time_years):
 *   cortical_thinning   = 0.012·max(0, a − 20)
 *   ventricle_dilation  = 0.03·max(0, a − 20) + 0.0015·max(0, a − 50)²
 *   hippocampal_atrophy = AD:  0.3·(d0 + rate·t)   (d0 ~ U(0.5, 5) years of disease at baseline; else 0)
 *   frontal_atrophy     = FTD: 0.35·(d0 + rate·t)  (else 0)
 *   scale               = M: N(1.0, 0.025), F: N(0.93, 0.025)  (global size)
 * rate ~ N(1, 0.15) for CN and N(2.2, 0.4) for patients (a multiplier on the subject's yearly progression).
 * Sites are drawn uniformly, independent of age, sex and diagnosis; each site has fixed acquisition parameters
 * (bias strength/pattern, noise, gain, resolution) with small per-scan jitter, the same across seeds.
 */
import { ConfigError } from '../../../src/errors.js';
import { Rng } from '../../../src/util/random.js';
import type { ScanEffects } from './phantom.js';

export type Diagnosis = 'CN' | 'AD' | 'FTD';

export interface SiteSpec {
  site: string;
  bias_strength: number;
  noise_sigma: number;
  gain: number;
  resolution_mm: number;
  /** The site's bias-field pattern (6 coefficients: x, y, z, x², y², z²). */
  bias_pattern: number[];
  /** Axis codes the site stores volumes in (only used with orientation 'mixed'). */
  orientation: string;
}

export interface Participant {
  participant_id: string;
  sex: 'F' | 'M';
  site: string;
  diagnosis: Diagnosis;
  baseline_age: number;
  rate: number;
}

/** One scan's manifest row (its effect and acquisition columns are `ScanEffects`). */
export interface ScanRow extends ScanEffects {
  subject_id: string;
  session_id: string;
  /** Relative to the cohort folder. */
  path: string;
  age: number;
  sex: 'F' | 'M';
  site: string;
  diagnosis: Diagnosis;
  group: 0 | 1;
  visit: number;
  time_years: number;
  rate: number;
  baseline_age: number;
}

/** What rendering a scan needs beyond its manifest row. */
export interface ScanRender {
  bias_coeffs: number[];
  anatomy_seed: number;
  noise_seed: number;
  orientation: string;
}

export interface DesignOptions {
  subjects?: number;
  visits?: number;
  seed?: number;
  /** Number of sites (default 4, at most 26). */
  sites?: number;
  /** Years between visits (default 1). */
  interval?: number;
  /** Diagnosis proportions (default CN 0.5, AD 0.3, FTD 0.2). */
  diagnosis?: Partial<Record<Diagnosis, number>>;
  /** 'RAS' (default): every volume stored RAS; 'mixed': each site its own axis order (affines stay correct). */
  orientation?: 'RAS' | 'mixed';
}

/** Manifest columns, in order (others rely on these names). */
export const MANIFEST_COLUMNS: (keyof ScanRow)[] = [
  'subject_id', 'session_id', 'path', 'age', 'sex', 'site', 'diagnosis', 'group', 'visit', 'time_years', 'rate',
  'cortical_thinning', 'ventricle_dilation', 'hippocampal_atrophy', 'frontal_atrophy', 'scale',
  'bias_strength', 'noise_sigma', 'gain', 'resolution_mm', 'baseline_age',
];
export const PARTICIPANT_COLUMNS: (keyof Participant)[] = ['participant_id', 'sex', 'site', 'diagnosis', 'baseline_age', 'rate'];
export const SESSION_COLUMNS: (keyof ScanRow)[] = [
  'session_id', 'age', 'visit', 'time_years', 'cortical_thinning', 'ventricle_dilation', 'hippocampal_atrophy', 'frontal_atrophy',
  'scale', 'bias_strength', 'noise_sigma', 'gain', 'resolution_mm',
];

const BASE_SITES = [
  { bias_strength: 0.1, noise_sigma: 0.02, gain: 1.0, resolution_mm: 2.0 },
  { bias_strength: 0.25, noise_sigma: 0.045, gain: 0.85, resolution_mm: 3.0 },
  { bias_strength: 0.05, noise_sigma: 0.06, gain: 1.2, resolution_mm: 2.5 },
  { bias_strength: 0.18, noise_sigma: 0.03, gain: 0.95, resolution_mm: 3.5 },
];
const ORIENTATIONS = ['RAS', 'LAS', 'LPS', 'PIR'];

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
const r2 = (v: number) => Math.round(v * 100) / 100;
const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Acquisition parameters of site i (site-A, site-B, …): fixed, independent of the cohort seed. */
export function siteSpec(i: number): SiteSpec {
  const rng = new Rng(`geoclr/site/${i}`);
  const base = BASE_SITES[i] ?? {
    bias_strength: r4(rng.uniform(0.05, 0.3)),
    noise_sigma: r4(rng.uniform(0.015, 0.07)),
    gain: r4(rng.uniform(0.8, 1.25)),
    resolution_mm: r4(rng.uniform(2, 4)),
  };
  return {
    site: `site-${String.fromCharCode(65 + i)}`,
    ...base,
    bias_pattern: Array.from({ length: 6 }, () => r4(rng.normal())),
    orientation: ORIENTATIONS[i % ORIENTATIONS.length],
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function checkDesignOptions(o: DesignOptions): Required<Omit<DesignOptions, 'diagnosis'>> & { diagnosis: Record<Diagnosis, number> } {
  const subjects = o.subjects ?? 100;
  const visits = o.visits ?? 3;
  const sites = o.sites ?? 4;
  const interval = o.interval ?? 1;
  if (!(Number.isInteger(subjects) && subjects >= 1)) throw new ConfigError('subjects', `${subjects} must be a positive integer`);
  if (!(Number.isInteger(visits) && visits >= 1 && visits <= 99)) throw new ConfigError('visits', `${visits} must be an integer in 1..99`);
  if (!(Number.isInteger(sites) && sites >= 1 && sites <= 26)) throw new ConfigError('sites', `${sites} must be an integer in 1..26`);
  if (!(interval > 0 && interval <= 20)) throw new ConfigError('interval', `${interval} must be in (0, 20] years`);
  const d = { CN: 0.5, AD: 0.3, FTD: 0.2, ...(o.diagnosis ?? {}) };
  const total = d.CN + d.AD + d.FTD;
  if (!(Object.values(d).every((v) => v >= 0) && total > 0)) throw new ConfigError('diagnosis', 'proportions must be ≥ 0 and not all 0');
  const orientation = o.orientation ?? 'RAS';
  if (orientation !== 'RAS' && orientation !== 'mixed') throw new ConfigError('orientation', `must be 'RAS' or 'mixed'`);
  return { subjects, visits, sites, interval, seed: o.seed ?? 0, orientation, diagnosis: { CN: d.CN / total, AD: d.AD / total, FTD: d.FTD / total } };
}

/** The full ground truth of a cohort, without rendering anything. */
export function designCohort(opts: DesignOptions = {}): { participants: Participant[]; scans: (ScanRow & { render: ScanRender })[]; sites: SiteSpec[] } {
  const o = checkDesignOptions(opts);
  const sites = Array.from({ length: o.sites }, (_, i) => siteSpec(i));
  const width = Math.max(3, String(o.subjects).length);
  const participants: Participant[] = [];
  const scans: (ScanRow & { render: ScanRender })[] = [];
  for (let s = 0; s < o.subjects; s++) {
    const id = `sub-${pad(s + 1, width)}`;
    const rng = new Rng(`${o.seed}/${id}`);
    const sex: 'F' | 'M' = rng.bernoulli(0.5) ? 'F' : 'M';
    const siteIdx = rng.int(0, o.sites);
    const u = rng.next();
    const diagnosis: Diagnosis = u < o.diagnosis.CN ? 'CN' : u < o.diagnosis.CN + o.diagnosis.AD ? 'AD' : 'FTD';
    const [lo, hi] = diagnosis === 'CN' ? [20, 85] : diagnosis === 'AD' ? [55, 85] : [45, 80];
    const baseline_age = r2(rng.uniform(lo, hi));
    const rate = r4(diagnosis === 'CN' ? clip(rng.normal(1, 0.15), 0.5, 1.6) : clip(rng.normal(2.2, 0.4), 1.2, 4));
    const delta = rng.normal(0, 2);
    const d0 = rng.uniform(0.5, 5);
    const scale = r4((sex === 'M' ? 1 : 0.93) + rng.normal(0, 0.025));
    const anatomy_seed = rng.nextUint32();
    const site = sites[siteIdx];
    participants.push({ participant_id: id, sex, site: site.site, diagnosis, baseline_age, rate });
    for (let v = 0; v < o.visits; v++) {
      const ses = `ses-${pad(v + 1, 2)}`;
      const vr = new Rng(`${o.seed}/${id}/${ses}`);
      const time_years = v === 0 ? 0 : r4(o.interval * (v + vr.uniform(-0.1, 0.1)));
      const a = baseline_age + delta + rate * time_years;
      const disease = d0 + rate * time_years;
      const gain = r4(site.gain * (1 + 0.03 * vr.normal()));
      const noise_sigma = r4(Math.max(0.001, site.noise_sigma * (1 + 0.1 * vr.normal())));
      scans.push({
        subject_id: id,
        session_id: ses,
        path: `${id}/${ses}/anat/${id}_${ses}_T1w.nii.gz`,
        age: r4(baseline_age + time_years),
        sex,
        site: site.site,
        diagnosis,
        group: diagnosis === 'CN' ? 0 : 1,
        visit: v,
        time_years,
        rate,
        cortical_thinning: r4(0.012 * Math.max(0, a - 20)),
        ventricle_dilation: r4(0.03 * Math.max(0, a - 20) + 0.0015 * Math.max(0, a - 50) ** 2),
        hippocampal_atrophy: diagnosis === 'AD' ? r4(Math.min(4, 0.3 * disease)) : 0,
        frontal_atrophy: diagnosis === 'FTD' ? r4(Math.min(4, 0.35 * disease)) : 0,
        scale,
        bias_strength: site.bias_strength,
        noise_sigma,
        gain,
        resolution_mm: site.resolution_mm,
        baseline_age,
        render: {
          bias_coeffs: site.bias_pattern.map((c) => r4(c + 0.3 * vr.normal())),
          anatomy_seed,
          noise_seed: vr.nextUint32(),
          orientation: o.orientation === 'mixed' ? site.orientation : 'RAS',
        },
      });
    }
  }
  return { participants, scans, sites };
}
