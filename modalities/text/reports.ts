/**
 * Radiology-style reports for the synthetic brain cohort (DATA.md recipe 4).
 *
 * A report is generated from one session's ground truth: each effect magnitude of the cohort generator maps to a
 * severity (none / mild / moderate / marked) by documented thresholds, and each finding is written with one of
 * several paraphrases and severity synonyms; absent findings are sometimes stated as negations ("no hippocampal
 * atrophy"); incidental findings and routine normal statements are drawn independently of the ground truth; a
 * follow-up visit compares itself with the subject's previous session. Nothing depends on the site or scanner
 * (bias field, noise, gain, resolution), so text cannot shortcut the site. The same row and seed always give the
 * same report.
 */
import type { Rng } from '../../src/util/random.js';
import { ValueError } from '../../src/errors.js';

/** The four imaging findings, each driven by one ground-truth column of the cohort manifest. */
export const FINDINGS = ['cortical', 'ventricles', 'hippocampal', 'frontal'] as const;
export type Finding = (typeof FINDINGS)[number];

/** The manifest column behind each finding. */
export const FINDING_COLUMNS: Record<Finding, 'cortical_thinning' | 'ventricle_dilation' | 'hippocampal_atrophy' | 'frontal_atrophy'> = {
  cortical: 'cortical_thinning',
  ventricles: 'ventricle_dilation',
  hippocampal: 'hippocampal_atrophy',
  frontal: 'frontal_atrophy',
};

export const SEVERITIES = ['none', 'mild', 'moderate', 'marked'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Lower bounds (inclusive) of each severity, in the units of the manifest's effect magnitude. */
export interface SeverityThresholds {
  mild: number;
  moderate: number;
  marked: number;
}

/**
 * Default thresholds, in mm, for the magnitudes of geoclr's cohort generator (`geoclr synth cohort`, DATA.md
 * recipe 3), where cortical thinning (0.012 mm/year after 20) and ventricular dilation (0.03 mm/year after 20,
 * accelerating after 50) grow with age in everyone, and hippocampal (AD) and frontal (FTD) atrophy grow with
 * disease duration. They are set so that, over a cohort aged 20–85, severities spread realistically: cortical
 * loss is mild from ≈ 58, moderate from ≈ 70, marked from ≈ 83 years; ventricular enlargement mild from ≈ 62,
 * moderate from ≈ 72, marked from ≈ 80; about one AD patient in ten has no reportable hippocampal atrophy at
 * baseline. Pass your own (`thresholds`) for another generator, and check the spread `writeCohortReports` returns.
 */
export const DEFAULT_SEVERITY_THRESHOLDS: Readonly<Record<Finding, SeverityThresholds>> = {
  cortical: { mild: 0.45, moderate: 0.6, marked: 0.75 },
  ventricles: { mild: 1.5, moderate: 2.3, marked: 3.2 },
  hippocampal: { mild: 0.3, moderate: 0.8, marked: 1.4 },
  frontal: { mild: 0.15, moderate: 0.4, marked: 0.7 },
};

/** The ground-truth fields a report is generated from (a cohort manifest row has these and more). */
export interface ReportFacts {
  subject_id?: string;
  session_id?: string;
  age: number;
  sex: 'F' | 'M' | string;
  /** 0 for the first session; with `time_years`, used only when a prior session is given. Magnitudes below in mm (≥ 0). */
  visit?: number;
  time_years?: number;
  cortical_thinning: number;
  ventricle_dilation: number;
  hippocampal_atrophy: number;
  frontal_atrophy: number;
}

export interface ReportOptions {
  /** Severity thresholds per finding (default DEFAULT_SEVERITY_THRESHOLDS; partial overrides merge). */
  thresholds?: Partial<Record<Finding, SeverityThresholds>>;
  /** The same subject's previous session: adds a comparison and "interval progression"/"stable" statements. */
  prior?: ReportFacts;
}

/** The severity of one magnitude. */
export function severityOf(value: number, t: SeverityThresholds): Severity {
  if (!Number.isFinite(value)) throw new ValueError(`effect magnitude must be a finite number, got ${value}`);
  return value >= t.marked ? 'marked' : value >= t.moderate ? 'moderate' : value >= t.mild ? 'mild' : 'none';
}

/** The severity of every finding of a session: the labels its report states (ground truth for evaluation). */
export function reportFindings(row: ReportFacts, thresholds: ReportOptions['thresholds'] = {}): Record<Finding, Severity> {
  const out = {} as Record<Finding, Severity>;
  for (const f of FINDINGS) out[f] = severityOf(row[FINDING_COLUMNS[f]], resolveThresholds(thresholds)[f]);
  return out;
}

function resolveThresholds(partial: ReportOptions['thresholds']): Record<Finding, SeverityThresholds> {
  const t = { ...DEFAULT_SEVERITY_THRESHOLDS, ...partial };
  for (const f of FINDINGS) {
    const { mild, moderate, marked } = t[f];
    if (!(mild > 0 && mild <= moderate && moderate <= marked)) {
      throw new ValueError(`thresholds.${f}: expected 0 < mild ≤ moderate ≤ marked, got ${JSON.stringify(t[f])}`);
    }
  }
  return t;
}

// --- wording ---------------------------------------------------------------------------------------------------

const ADJECTIVES: Record<Exclude<Severity, 'none'>, string[]> = {
  mild: ['mild', 'mild', 'slight'],
  moderate: ['moderate'],
  marked: ['marked', 'severe', 'pronounced'],
};
const ADVERBS: Record<Exclude<Severity, 'none'>, string[]> = {
  mild: ['mildly', 'slightly'],
  moderate: ['moderately'],
  marked: ['markedly', 'severely'],
};
/** Medial temporal atrophy (Scheltens) score a radiologist would give each severity. */
const MTA: Record<Severity, string> = { none: '0-1', mild: '2', moderate: '3', marked: '4' };

type Words = { adj: string; adv: string; mta: string; side: string };
type Template = (w: Words) => string;

const POSITIVE: Record<Finding, Template[]> = {
  cortical: [
    (w) => `${w.adj} diffuse cortical volume loss for age.`,
    (w) => `${w.adj} generalized cerebral volume loss.`,
    (w) => `There is ${w.adj} global cortical atrophy with prominence of the cerebral sulci.`,
    (w) => `The cerebral sulci are ${w.adv} widened, in keeping with diffuse cortical atrophy.`,
  ],
  ventricles: [
    (w) => `${w.adj} ventricular enlargement.`,
    (w) => `The lateral ventricles are ${w.adv} enlarged.`,
    (w) => `${w.adj} dilatation of the lateral and third ventricles, ex vacuo in appearance.`,
    (w) => `${w.adj} ventriculomegaly without features of obstructive hydrocephalus.`,
  ],
  hippocampal: [
    (w) => `${w.adj} hippocampal volume loss.`,
    (w) => `${w.adj} bilateral hippocampal atrophy (MTA score ${w.mta}).`,
    (w) => `The hippocampi are ${w.adv} atrophic, with widening of the choroidal fissures and temporal horns.`,
    (w) => `${w.adj} medial temporal lobe atrophy, ${w.side} slightly more than ${w.side === 'left' ? 'right' : 'left'}.`,
  ],
  frontal: [
    (w) => `${w.adj} frontal-predominant atrophy.`,
    (w) => `${w.adj} volume loss of the frontal lobes, disproportionate to the parietal and occipital lobes.`,
    (w) => `The frontal lobes are ${w.adv} atrophic, with widened frontal sulci.`,
    (w) => `${w.adj} bifrontal cortical atrophy.`,
  ],
};

const NEGATIVE: Record<Finding, string[]> = {
  cortical: ['No significant cortical volume loss for age.', 'Cerebral volume is within normal limits for age.', 'The sulci are normal in size for age.'],
  ventricles: ['No ventricular enlargement.', 'The ventricles are normal in size and configuration.', 'Ventricular size is normal.'],
  hippocampal: ['No hippocampal atrophy.', 'The hippocampi are normal in volume.', 'No medial temporal lobe atrophy (MTA score 0-1).'],
  frontal: ['No lobar-predominant atrophy.', 'No focal frontal volume loss.', 'The frontal lobes are preserved in volume.'],
};

/** How often an absent finding is stated as a negation (radiologists mention the expected ones). */
const NEGATION_RATE: Record<Finding, number> = { cortical: 0.5, ventricles: 0.6, hippocampal: 0.7, frontal: 0.35 };

/** Short names for comparison statements. */
const FINDING_NOUN: Record<Finding, string> = {
  cortical: 'cortical volume loss',
  ventricles: 'ventricular enlargement',
  hippocampal: 'hippocampal atrophy',
  frontal: 'frontal atrophy',
};

/** Incidental findings, unrelated to the ground truth (tags keep contradictory normals out). */
const INCIDENTAL: { tag: string; text: (rng: Rng) => string }[] = [
  { tag: 'pineal', text: (rng) => `Incidental ${rng.int(3, 9)} mm pineal cyst.` },
  { tag: 'sinus', text: (rng) => `Mucosal thickening in the ${side(rng)} maxillary sinus.` },
  { tag: 'csp', text: () => 'Cavum septum pellucidum, a normal variant.' },
  { tag: 'cisterna', text: () => 'Prominent cisterna magna, a normal variant.' },
  { tag: 'arachnoid', text: (rng) => `Small arachnoid cyst in the ${side(rng)} middle cranial fossa.` },
  { tag: 'sella', text: () => 'Partially empty sella.' },
  { tag: 'wm', text: () => 'A few nonspecific punctate white matter foci.' },
  { tag: 'dva', text: (rng) => `Developmental venous anomaly in the ${side(rng)} cerebellar hemisphere.` },
];

/** Routine normal statements (irrelevant to the ground truth); `unless` names an incidental they contradict. */
const ROUTINE: { text: string[]; unless?: string }[] = [
  { text: ['No acute infarct, hemorrhage or mass effect.', 'No intracranial mass, hemorrhage or midline shift.'] },
  { text: ['The basal cisterns are patent.'], unless: 'cisterna' },
  { text: ['The major intracranial flow voids are preserved.'] },
  { text: ['The mastoid air cells are clear.', 'The orbits and mastoid air cells are unremarkable.'] },
  { text: ['The visualized paranasal sinuses are clear.'], unless: 'sinus' },
  { text: ['The craniocervical junction is unremarkable.', 'The pituitary gland is normal in size.'], unless: 'sella' },
];

const INDICATIONS = ['cognitive assessment', 'memory complaints', 'routine follow-up', 'research protocol', 'headache', 'dizziness'];
const TECHNIQUES = [
  'Multiplanar T1-weighted MRI of the brain without contrast.',
  'Volumetric T1-weighted imaging of the brain.',
  'MRI brain, 3D T1-weighted sequence, no contrast.',
];

function side(rng: Rng): string {
  return rng.bernoulli(0.5) ? 'left' : 'right';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * A radiology-style report for one session, from its ground truth, drawn with `rng` (seeded → deterministic).
 * Severity per finding follows `reportFindings(row, thresholds)` exactly; wording, negations, incidental findings
 * and layout are random.
 */
export function generateReport(row: ReportFacts, rng: Rng, options: ReportOptions = {}): string {
  const thresholds = resolveThresholds(options.thresholds);
  const severity = reportFindings(row, thresholds);
  const hemisphere = side(rng);

  const findings: string[] = [];
  const order = rng.shuffle([...FINDINGS]);
  for (const f of order) {
    const s = severity[f];
    if (s === 'none') {
      if (rng.bernoulli(NEGATION_RATE[f])) findings.push(rng.choice(NEGATIVE[f]));
      continue;
    }
    const words: Words = { adj: rng.choice(ADJECTIVES[s]), adv: rng.choice(ADVERBS[s]), mta: MTA[s], side: hemisphere };
    findings.push(capitalize(rng.choice(POSITIVE[f])(words)));
  }

  const tags = new Set<string>();
  const incidental: string[] = [];
  for (const item of rng.shuffle([...INCIDENTAL])) {
    if (incidental.length < 2 && rng.bernoulli(0.12)) {
      incidental.push(item.text(rng));
      tags.add(item.tag);
    }
  }
  const routine = ROUTINE.filter((r) => !(r.unless && tags.has(r.unless)) && rng.bernoulli(0.45)).map((r) => rng.choice(r.text));
  // Incidental and routine sentences interleave with the findings, as in real reports.
  const body = [...findings];
  for (const sentence of [...incidental, ...routine]) body.splice(rng.int(0, body.length + 1), 0, sentence);
  if (body.length === 0) body.push('No intracranial abnormality.');

  let comparison: string | null = null;
  const progression: string[] = [];
  if (options.prior) {
    const before = reportFindings(options.prior, thresholds);
    const months = Math.max(1, Math.round(((row.time_years ?? 0) - (options.prior.time_years ?? 0)) * 12));
    comparison = rng.choice([`MRI brain from ${months} months earlier`, `prior examination ${months} months ago`]);
    for (const f of FINDINGS) {
      if (SEVERITIES.indexOf(severity[f]) > SEVERITIES.indexOf(before[f])) progression.push(FINDING_NOUN[f]);
    }
  }

  const impression = impressionOf(severity, progression, options.prior != null, rng);

  const header: string[] = [];
  if (rng.bernoulli(0.6)) {
    const who = row.sex === 'F' ? rng.choice(['woman', 'female']) : row.sex === 'M' ? rng.choice(['man', 'male']) : 'patient';
    header.push(`${Math.floor(row.age)}-year-old ${who}, ${rng.choice(INDICATIONS)}.`);
  }
  const technique = rng.bernoulli(0.5) ? rng.choice(TECHNIQUES) : null;

  if (rng.bernoulli(0.7)) {
    const parts: string[] = [];
    if (header.length) parts.push(`CLINICAL INFORMATION: ${header[0]}`);
    if (technique) parts.push(`TECHNIQUE: ${technique}`);
    if (comparison) parts.push(`COMPARISON: ${capitalize(comparison)}.`);
    parts.push(`FINDINGS: ${body.join(' ')}`);
    parts.push(`IMPRESSION: ${impression.join(' ')}`);
    return parts.join(' ');
  }
  // Free-text style: no section headings.
  return [...header, ...(comparison ? [`Compared with the ${comparison}.`] : []), ...body, ...impression].join(' ');
}

function impressionOf(severity: Record<Finding, Severity>, progression: string[], hasPrior: boolean, rng: Rng): string[] {
  const rank = (f: Finding) => SEVERITIES.indexOf(severity[f]);
  const present = FINDINGS.filter((f) => severity[f] !== 'none').sort((a, b) => rank(b) - rank(a));
  const out: string[] = [];
  if (present.length === 0) {
    out.push(rng.choice(['No significant volume loss for age.', 'Unremarkable MRI of the brain for age.', 'Normal brain volume for age.']));
  } else {
    const phrases = present.map((f) => `${rng.choice(ADJECTIVES[severity[f] as Exclude<Severity, 'none'>])} ${FINDING_NOUN[f]}`);
    out.push(capitalize(phrases.length === 1 ? `${phrases[0]}.` : `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}.`));
    if (rank('hippocampal') >= 2 && rank('hippocampal') >= rank('frontal')) {
      out.push(rng.choice(['Medial temporal predominant pattern of atrophy.', 'The pattern of atrophy is medial temporal predominant.']));
    } else if (rank('frontal') >= 2) {
      out.push(rng.choice(['Frontal-predominant pattern of atrophy.', 'The pattern of atrophy is frontal predominant.']));
    }
  }
  if (progression.length > 0) out.push(`Interval progression of ${progression.join(' and ')}.`);
  else if (hasPrior && rng.bernoulli(0.7)) out.push(rng.choice(['No significant interval change.', 'Stable compared with the prior examination.']));
  return out;
}

/**
 * A plausible random baseline session following the cohort generator's ground-truth formulas (mm; see
 * DEFAULT_SEVERITY_THRESHOLDS) — for benchmarks, tests and demos without a cohort.
 */
export function randomReportFacts(rng: Rng): ReportFacts & { diagnosis: 'CN' | 'AD' | 'FTD' } {
  const diagnosis = rng.choice(['CN', 'CN', 'AD', 'FTD'] as const);
  const [lo, hi] = diagnosis === 'CN' ? [20, 85] : diagnosis === 'AD' ? [55, 85] : [45, 80];
  const age = rng.uniform(lo, hi);
  const brainAge = age + rng.normal(0, 2);
  const disease = rng.uniform(0.5, 8); // years of disease, baseline plus progression
  return {
    age,
    sex: rng.choice(['F', 'M']),
    diagnosis,
    visit: 0,
    time_years: 0,
    cortical_thinning: 0.012 * Math.max(0, brainAge - 20),
    ventricle_dilation: 0.03 * Math.max(0, brainAge - 20) + 0.0015 * Math.max(0, brainAge - 50) ** 2,
    hippocampal_atrophy: diagnosis === 'AD' ? Math.min(4, 0.3 * disease) : 0,
    frontal_atrophy: diagnosis === 'FTD' ? Math.min(4, 0.15 * disease) : 0,
  };
}
