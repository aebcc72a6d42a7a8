/**
 * `geoclr nifti info FILE [--json]` and `geoclr nifti convert IN OUT [--reorient RAS] [--spacing S] [--shape X,Y,Z]
 * [--normalize zscore] [--order linear|nearest] [--datatype float32]`.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import {
  axisCodes,
  meanStd,
  type NiftiDatatype,
  DATATYPES,
  NORMALIZATIONS,
  type Normalization,
  normalizeIntensity,
  percentileClip,
  readNifti,
  reorient,
  resample,
  writeNifti,
  type Volume,
} from '../../modalities/mri/index.js';
import type { Command } from '../cli.js';

const USAGE = `usage:
  geoclr nifti info FILE [--json]
      shape, spacing, datatype, affine, axis codes, min/max/mean/std of a .nii/.nii.gz
  geoclr nifti convert IN OUT [--reorient CODES] [--spacing S|SX,SY,SZ] [--shape X,Y,Z]
                      [--order linear|nearest] [--normalize zscore|zscore-nonzero|minmax|clip|none]
                      [--datatype float32|float64|int16|uint8|...]
      reorient (e.g. RAS), resample (trilinear; --order nearest for label maps), crop/pad to a shape around
      the centre, normalise, and write (atomically; .gz → gzipped)`;

function numbers(field: string, text: string, count: number[]): number[] {
  const v = text.split(',').map((s) => Number(s.trim()));
  if (!count.includes(v.length) || v.some((x) => !Number.isFinite(x))) throw new ConfigError(field, `'${text}' must be ${count.join(' or ')} comma-separated numbers`);
  return v;
}

function stats(data: ArrayLike<number>) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const { mean, std } = meanStd(data);
  return { min, max, mean, std };
}

async function info(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new ConfigError('FILE', 'give exactly one NIfTI file');
  const file = positionals[0];
  const img = await readNifti(file);
  const h = img.header;
  const out = {
    file,
    version: h.version,
    shape: img.shape,
    spacing: img.spacing,
    datatype: img.datatype,
    endianness: h.littleEndian ? 'little' : 'big',
    affine: img.affine,
    axisCodes: axisCodes(img.affine).join(''),
    sformCode: h.sformCode,
    qformCode: h.qformCode,
    scaling: h.sclSlope !== 0 && Number.isFinite(h.sclSlope) && !(h.sclSlope === 1 && h.sclInter === 0) ? { slope: h.sclSlope, inter: h.sclInter } : null,
    description: h.description,
    ...stats(img.data),
  };
  if (values.json) {
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
  console.log(`file       ${file}`);
  console.log(`format     NIfTI-${out.version}, ${out.endianness} endian, ${out.datatype}${out.scaling ? ` (scl_slope ${f(out.scaling.slope)}, scl_inter ${f(out.scaling.inter)})` : ''}`);
  console.log(`shape      ${out.shape.join(' × ')}`);
  console.log(`spacing    ${out.spacing.map(f).join(' × ')}`);
  console.log(`axes       ${out.axisCodes}  (sform_code ${out.sformCode}, qform_code ${out.qformCode})`);
  console.log(`affine     ${out.affine.map((r) => r.map((v) => f(v).padStart(10)).join(' ')).join('\n           ')}`);
  console.log(`values     min ${f(out.min)}  max ${f(out.max)}  mean ${f(out.mean)}  std ${f(out.std)}`);
  return 0;
}

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      reorient: { type: 'string' },
      spacing: { type: 'string' },
      shape: { type: 'string' },
      order: { type: 'string' },
      normalize: { type: 'string' },
      datatype: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new ConfigError('IN OUT', 'give an input and an output path');
  const [input, output] = positionals;
  const order = values.order ?? 'linear';
  if (order !== 'linear' && order !== 'nearest') throw new ConfigError('--order', `'${order}' must be linear or nearest`);
  const datatype = values.datatype as NiftiDatatype | undefined;
  if (datatype && !DATATYPES.has(datatype)) throw new ConfigError('--datatype', `'${datatype}' must be one of ${[...DATATYPES.keys()].join(', ')}`);
  const img = await readNifti(input);
  let vol: Volume = img;
  if (values.reorient) vol = reorient(vol, values.reorient);
  const spacing = values.spacing ? numbers('--spacing', values.spacing, [1, 3]) : undefined;
  const shape = values.shape ? numbers('--shape', values.shape, [3]) : undefined;
  if (spacing || shape) vol = resample(vol, { spacing: spacing?.length === 1 ? spacing[0] : spacing, shape, order, antialias: order === 'linear' });
  const method = values.normalize ?? 'none';
  if (method === 'clip') vol = percentileClip(vol);
  else if ((NORMALIZATIONS as string[]).includes(method)) vol = normalizeIntensity(vol, method as Normalization);
  else throw new ConfigError('--normalize', `'${method}' must be ${NORMALIZATIONS.join(', ')} or clip`);
  const stored = datatype ?? (vol === img ? img.datatype : 'float32');
  await writeNifti(output, vol, { datatype: stored, scaling: DATATYPES.get(stored)!.integer ? 'auto' : undefined });
  console.log(`wrote ${output}: ${vol.shape.join('×')} at ${vol.spacing.slice(0, 3).map((v) => +v.toFixed(4)).join('×')} mm, ${axisCodes(vol.affine).join('')}, ${stored}`);
  return 0;
}

export const command: Command = {
  summary: 'inspect (info) or convert/reorient/resample/normalise (convert) NIfTI images',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'info') return info(rest);
    if (sub === 'convert') return convert(rest);
    console.log(USAGE);
    return sub == null || sub === '--help' || sub === '-h' ? (sub == null ? 1 : 0) : 2;
  },
};
